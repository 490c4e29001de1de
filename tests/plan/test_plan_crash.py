"""Crash safety at the plan level: the apply is killed (SIGKILL) inside a step of each kind
that submits, then applied again; the final chain state is the crash-free one (the
rehearsal's last check compares every count and balance), no allocation paid twice or lost.

Slow (two rehearsal applies per case): ``-m slow``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "plans" / "rehearsal.yaml"

CASES = [("deploy", "submitted"), ("register", "journaled"), ("commit-m1", "sent"), ("release-all", "submitted"),
         ("release-all", "confirming"), ("reclaim-m3", "built")]


def apply(data: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OGMIOS_URL", None)
    env.pop("KUPO_URL", None)
    if crash_at:
        env["MILESTONES_TEST_PLAN_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(data), "apply", str(PLAN)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900, check=False)


#: the default suite kills one step (a release right after its submission); `-m slow` kills every case
DEFAULT_CASE = ("release-all", "submitted")


@pytest.mark.parametrize("step, phase", [
    pytest.param(s, p, id=f"{s}-{p}", marks=() if (s, p) == DEFAULT_CASE else pytest.mark.slow) for s, p in CASES])
def test_a_killed_apply_applied_again_ends_in_the_crash_free_state(tmp_path: Path, step: str, phase: str):
    killed = apply(tmp_path, f"{step}:{phase}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    again = apply(tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "final check: every expectation holds on chain" in again.stderr.replace("\n", " ")
    assert "Traceback" not in again.stderr


@pytest.mark.slow
def test_status_shows_a_step_in_doubt_after_a_kill_mid_submission(tmp_path: Path):
    killed = apply(tmp_path, "deploy:submitted")
    assert killed.returncode == -signal.SIGKILL
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    status = subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(tmp_path), "status", str(PLAN)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert status.returncode == 0, status.stderr[-2000:]
    assert "! deploy deploy: 1 transaction(s) journaled, fate not yet known" in status.stderr.replace("\n", " ")
