"""`milestones validate`: every problem of every plan in one run, exit 2, no network, nothing written;
the example plans in plans/ are valid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    # A dead proxy: a command that tried the network would fail loudly rather than hang.
    environment.update(OGMIOS_URL="ws://127.0.0.1:9", KUPO_URL="http://127.0.0.1:9")
    return subprocess.run([sys.executable, "-m", "runner", *args], check=False, cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_the_rehearsal_is_valid():
    result = run("validate", "plans/rehearsal.yaml")
    assert result.returncode == 0, result.stderr
    assert "valid (devnet, 16 steps, 45 allocations)" in result.stdout


@pytest.mark.parametrize("network", ["preprod", "preview"])
def test_the_testnet_plans_are_valid_with_their_variables(network: str):
    result = run("validate", f"plans/{network}.yaml", "--var", f"token_policy_id={POLICY}", "--no-key-files")
    assert result.returncode == 0, result.stderr


def test_the_testnet_plans_say_which_variable_is_missing():
    result = run("validate", "plans/preprod.yaml", "--no-key-files")
    assert result.returncode == 2
    assert "plans/preprod.yaml:42:22: $.schedule.token.policy_id: 'token_policy_id' is not defined" in result.stderr


def test_every_problem_of_every_plan_in_one_run_sorted(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("version: 1\nnetwork: moon\nschedule: {}\nsteps: []\nextra: no\n")
    (tmp_path / "b.yaml").write_text("version: 1\n  bad: indent\n")
    result = run("validate", str(tmp_path / "b.yaml"), str(tmp_path / "a.yaml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("  /")]
    locations = [line.split(": ")[0].strip() for line in lines]
    assert len(lines) >= 8
    assert locations == sorted(locations, key=lambda loc: (loc.split(":")[0], int(loc.split(":")[1]),
                                                           int(loc.split(":")[2])))
    assert f"{tmp_path}/a.yaml:5:8: $.extra: 'no' is a YAML 1.1 boolean look-alike" in result.stderr
    assert f"{tmp_path}/b.yaml:2:" in result.stderr


def test_json_output_lists_problems_as_data(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("version: 1\nnetwork: devnet\nschedule: {}\nsteps: [{id: x}]\n")
    result = run("--output", "json", "validate", str(tmp_path / "a.yaml"))
    assert result.returncode == 2
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "invalid-plan"
    assert {p["path"] for p in error["problems"]} >= {"$.schedule", "$.steps[0]"}
    assert all({"file", "line", "column", "path", "code", "message"} <= set(p) for p in error["problems"])


def test_validate_writes_nothing(tmp_path: Path):
    plan = tmp_path / "plan.yaml"
    plan.write_text((ROOT / "plans" / "rehearsal.yaml").read_text())
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = run("--data-dir", str(tmp_path / "data"), "validate", str(plan), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
