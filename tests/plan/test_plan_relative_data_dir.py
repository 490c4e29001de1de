"""The README's main job: `milestones apply plans/rehearsal.yaml` with the default, relative data
directory. Files a step writes under the data directory (the oracles' signatures) are named by
absolute path, so a later step never looks for them beside the plan instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_rehearsal_applies_with_a_data_directory_relative_to_the_working_directory(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OGMIOS_URL", None)
    env.pop("KUPO_URL", None)
    ran = subprocess.run([sys.executable, "-c", "import sys; from runner.cli import main; sys.exit(main())",
                          "--data-dir", "relative/data", "apply", str(ROOT / "plans" / "rehearsal.yaml")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert (tmp_path / "relative" / "data" / "signatures" / "m1.json").is_file()
    assert not (ROOT / "plans" / "relative").exists()
