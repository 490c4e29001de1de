"""House rules that a test can hold: a broken sub-app is an error, not a missing command;
CI runs the linters it claims to."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import runner.cli

ROOT = Path(__file__).resolve().parents[3]


def test_a_devnet_cli_that_fails_to_import_is_not_silently_dropped(monkeypatch):
    monkeypatch.setitem(sys.modules, "runner.devnet.cli", None)  # import raises ImportError
    with pytest.raises(ImportError):
        runner.cli._register_subapps()


def test_ci_runs_ruff_and_strict_mypy_and_installs_them_itself():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "ruff check runner tests bench" in ci and "mypy --strict runner" in ci
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    test_extra = " ".join(project["project"]["optional-dependencies"]["test"])
    assert "ruff" in test_extra and "mypy" in test_extra
    assert project["tool"]["mypy"]["strict"] is True
    assert isinstance(project["project"]["license"], str)  # SPDX string, not the deprecated table
