"""`devnet.lock`: one owner at a time, and a lock whose owner died (kill -9, SIGTERM during
start-up) is taken over with a note instead of refusing every restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runner.cli import main
from runner.devnet.storage import lockfile

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def start_up(data_dir: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "runner", "devnet", "up", "--data-dir", str(data_dir),
               "--ogmios-port", "0", "--kupo-port", "0"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def wait_serving(process: subprocess.Popen[str]) -> dict[str, Any]:
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.rstrip() == "}":
            return dict(json.loads("".join(lines)))
    raise AssertionError("`devnet up` exited before serving: " + "".join(lines))


def dead_pid() -> int:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as gone:
        gone.wait()
    return gone.pid


HOLD_LOCK = """
import sys, time
from pathlib import Path
from runner.devnet.storage import lockfile
with lockfile.locked(Path(sys.argv[1]), "devnet up", print):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_lock_holder_killed_with_sigkill_is_taken_over_by_the_next_up(capsys, tmp_path):
    data_dir = tmp_path / "devnet"
    assert run(capsys, "devnet", "reset", "--data-dir", str(data_dir))[0] == 0
    with subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data_dir)], stdout=subprocess.PIPE, text=True,
                          env=ENV) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, _, err = run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
        assert code == 5 and f"pid {holder.pid}" in err  # a live owner is respected
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    assert (data_dir / lockfile.LOCK_NAME).exists()  # kill -9 leaves the file behind
    with start_up(data_dir) as server:
        try:
            serving = wait_serving(server)
            info = lockfile.read_info(data_dir)
            assert (info.pid, info.owner, info.host) == (server.pid, "devnet up", socket.gethostname())
            assert info.started and info.ogmios == serving["ogmios"]
            code, out, err = run(capsys, "devnet", "status", "--data-dir", str(data_dir))
            assert code == 0 and json.loads(out)["slot"] == serving["slot"], err  # answered by the server
        finally:
            server.send_signal(signal.SIGTERM)
            _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert "taking over the stale lock" in err and f"pid {holder.pid}" in err
    assert not (data_dir / lockfile.LOCK_NAME).exists()


def test_a_dead_servers_lock_and_url_are_ignored_by_the_other_commands(capsys, tmp_path):
    data_dir = tmp_path / "devnet"
    assert run(capsys, "devnet", "reset", "--data-dir", str(data_dir))[0] == 0
    pid = dead_pid()  # what kill -9 of `devnet up` leaves: its lock file, nobody holding it
    (data_dir / lockfile.LOCK_NAME).write_text(json.dumps(
        {"owner": "devnet up", "pid": pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00",
         "ogmios": "ws://127.0.0.1:9"}))
    code, out, err = run(capsys, "devnet", "advance", "--slots", "3", "--data-dir", str(data_dir))
    assert code == 0, err
    assert "taking over the stale lock" in err and f"pid {pid}" in err
    assert json.loads(out)["slot"] == 3
    assert not (data_dir / lockfile.LOCK_NAME).exists()


def test_sigterm_during_start_up_leaves_no_lock_that_blocks_the_next_command(capsys, tmp_path):
    data_dir = tmp_path / "devnet"
    with start_up(data_dir) as process:
        try:
            while not (data_dir / lockfile.LOCK_NAME).exists() and process.poll() is None:
                time.sleep(0.01)
            process.send_signal(signal.SIGTERM)  # somewhere between taking the lock and serving
            process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()  # never hang the suite: the assertion below reports it
    assert process.returncode in (128 + signal.SIGTERM, 0)  # 0: it had just started serving
    assert not (data_dir / lockfile.LOCK_NAME).exists()
    if (data_dir / "ledger.cbor").exists():
        code, _, err = run(capsys, "devnet", "tick", "--data-dir", str(data_dir))
        assert code == 0, err
    code, _, err = run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
    assert code == 0, err


def test_a_legacy_lock_of_a_live_pid_is_respected_and_of_a_dead_pid_taken_over(capsys, tmp_path):
    data_dir = tmp_path / "devnet"
    assert run(capsys, "devnet", "reset", "--data-dir", str(data_dir))[0] == 0
    lock = data_dir / lockfile.LOCK_NAME
    lock.write_text(json.dumps({"pid": os.getppid()}))  # the format before host/flock: alive
    code, _, err = run(capsys, "devnet", "tick", "--data-dir", str(data_dir))
    assert code == 5 and "in use" in err
    lock.write_text(json.dumps({"pid": dead_pid()}))
    code, _, err = run(capsys, "devnet", "tick", "--data-dir", str(data_dir))
    assert code == 0 and "taking over the stale lock" in err


def test_a_lock_from_another_host_is_never_taken_over(capsys, tmp_path):
    data_dir = tmp_path / "devnet"
    assert run(capsys, "devnet", "reset", "--data-dir", str(data_dir))[0] == 0
    (data_dir / lockfile.LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere.example"}))
    code, _, err = run(capsys, "devnet", "tick", "--data-dir", str(data_dir))
    assert code == 5 and "elsewhere.example" in err


def test_a_lock_held_in_this_process_is_in_use(tmp_path):
    notes: list[str] = []
    with lockfile.locked(tmp_path, "test", notes.append):
        assert lockfile.live_holder(tmp_path) is not None
        with pytest.raises(Exception, match="in use"), lockfile.locked(tmp_path, "other", notes.append):
            pass
    assert lockfile.live_holder(tmp_path) is None and notes == []
