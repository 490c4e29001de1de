"""A saved plan with its fields damaged is a user error (exit 2), not a KeyError traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.commands import plans_saved
from runner.errors import UserInputError


def test_damaged_saved_plan_is_a_user_error(tmp_path: Path) -> None:
    header = {"format": plans_saved.FORMAT, "version": plans_saved.VERSION}
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(header))
    with pytest.raises(UserInputError, match="damaged"):
        plans_saved.read(saved)
    whole = {**header, "plan_file": "x", "plan_sha256": "a", "variables_sha256": "b", "steps": [{"id": "s"}]}
    saved.write_text(json.dumps(whole))
    assert plans_saved.read(saved) == whole
