"""Two applies of the same plan on the same data directory: one proceeds, the other is refused
by the one-writer lock (exit 5, naming the holder) and spends nothing; the first finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "plans" / "rehearsal.yaml"


def command(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "runner", "--data-dir", str(data), *args]


def test_a_second_apply_on_the_same_data_directory_is_refused_while_the_first_runs(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OGMIOS_URL", None)
    env.pop("KUPO_URL", None)
    first = subprocess.Popen(command(tmp_path, "apply", str(PLAN)), cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "lock.json").exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "lock.json").exists(), "the first apply never took the lock"
        # the first is paused while the second runs: a fast first apply would otherwise finish
        # (and free the lock) before the second's interpreter has even started
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = subprocess.run(command(tmp_path, "apply", str(PLAN)), cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=300, check=False)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        out, err = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 5, second.stderr
    assert "lock" in second.stderr and "Traceback" not in second.stderr
    assert first.returncode == 0, err[-3000:]
    assert "12 step(s) applied" in out
