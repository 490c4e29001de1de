"""Bad input to `milestones devnet ...` is a message (exit code from runner/errors.py, a
location, a hint), never a traceback, and leaves nothing half-made behind.

The corpus is a table: add a `Case` to CASES to cover a new mistake. `setup` builds the
scene in a temporary directory and returns the command line; `left` checks what is left.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def nothing_left(path: Path) -> bool:
    return not path.exists() or not any(p.name in ("ledger.cbor", "ledger.log", "devnet.lock")
                                        for p in path.iterdir())


def config(tmp: Path, text: str | bytes) -> Path:
    path = tmp / "config.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def a_file(tmp: Path) -> Path:
    path = tmp / "plain-file"
    path.write_text("not a directory")
    return path


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[Path], list[str]]
    exit_code: int
    says: tuple[str, ...]
    left: Callable[[Path], bool] = lambda tmp: nothing_left(tmp / "devnet")


DEVNET = ["--data-dir"]


def up(tmp: Path, *flags: str) -> list[str]:
    return ["devnet", "up", "--data-dir", str(tmp / "devnet"), *flags]


CASES = [
    Case("up --ogmios-port -1", lambda t: up(t, "--ogmios-port", "-1"), 2, ("--ogmios-port", "not a TCP port")),
    Case("up --ogmios-port 70000", lambda t: up(t, "--ogmios-port", "70000"), 2, ("--ogmios-port", "70000")),
    Case("up --kupo-port 70000", lambda t: up(t, "--kupo-port", "70000"), 2, ("--kupo-port", "70000")),
    Case("up --start-slot 2^64", lambda t: up(t, "--start-slot", str(2**64)), 2, ("--start-slot", "2^64-1")),
    Case("reset --start-slot 2^64", lambda t: ["devnet", "reset", "--start-slot", str(2**64), *DEVNET,
                                               str(t / "devnet")], 2, ("--start-slot", "64-bit")),
    Case("reset --system-start-ms 2^70", lambda t: ["devnet", "reset", "--system-start-ms", str(2**70), *DEVNET,
                                                    str(t / "devnet")], 2, ("--system-start-ms",)),
    Case("--config not UTF-8", lambda t: ["--config", str(config(t, b"network: \xff\xfe")), "devnet", "status"],
         2, ("not UTF-8", "config.yaml")),
    Case("--config is a directory", lambda t: ["--config", str(t), "devnet", "status"], 2, ("is a directory",)),
    Case("config data_directory: null", lambda t: ["--config", str(config(t, "data_directory: null")),
                                                   "devnet", "status"], 2, ("data_directory", "None")),
    Case("config data_directory: 5", lambda t: ["--config", str(config(t, "data_directory: 5")),
                                                "devnet", "status"], 2, ("data_directory", "got 5")),
    Case("config data_directory: [a, b]", lambda t: ["--config", str(config(t, "data_directory: [a, b]")),
                                                     "devnet", "up"], 2, ("data_directory", "['a', 'b']")),
    Case("up --data-dir is a file", lambda t: ["devnet", "up", *DEVNET, str(a_file(t))], 2,
         ("is a file", "plain-file"), lambda t: (t / "plain-file").read_text() == "not a directory"),
    Case("reset --data-dir is a file", lambda t: ["devnet", "reset", *DEVNET, str(a_file(t))], 2,
         ("is a file, not a directory",), lambda t: (t / "plain-file").read_text() == "not a directory"),
    Case("tick --data-dir is a file", lambda t: ["devnet", "tick", *DEVNET, str(a_file(t))], 2, ("is a file",)),
    Case("status --data-dir is a file", lambda t: ["devnet", "status", *DEVNET, str(a_file(t))], 2,
         ("is a file",)),
    Case("up --data-dir below a file", lambda t: ["devnet", "up", *DEVNET, str(a_file(t) / "devnet")], 2,
         ("is a file, not a directory",)),
    Case("reset --data-dir below a file", lambda t: ["devnet", "reset", *DEVNET, str(a_file(t) / "sub" / "d")],
         2, ("is a file, not a directory",)),
    Case("status --data-dir below a file", lambda t: ["devnet", "status", *DEVNET, str(a_file(t) / "d")], 2,
         ("is a file, not a directory",)),
    Case("root --data-dir is a file", lambda t: ["--data-dir", str(a_file(t)), "devnet", "tick"], 2,
         ("is a file, not a directory",)),
    Case("--utxo-file is a directory", lambda t: ["devnet", "reset", "--utxo-file", str(t), *DEVNET,
                                                  str(t / "devnet")], 2, ("UTxO file", "Is a directory")),
    Case("--utxo-file not UTF-8", lambda t: ["devnet", "reset", "--utxo-file", str(config(t, b"\xff[")), *DEVNET,
                                             str(t / "devnet")], 2, ("not UTF-8",)),
    Case("--utxo-file not JSON", lambda t: ["devnet", "reset", "--utxo-file", str(config(t, "[1,")), *DEVNET,
                                            str(t / "devnet")], 2, ("not JSON",)),
    Case("--utxo-file a list of numbers", lambda t: ["devnet", "reset", "--utxo-file", str(config(t, "[1, 2]")),
                                                     *DEVNET, str(t / "devnet")], 2, ("entry 0",)),
    Case("--utxo-file an object without result", lambda t: ["devnet", "reset", "--utxo-file",
                                                            str(config(t, '{"utxo": []}')), *DEVNET,
                                                            str(t / "devnet")], 2, ("no list of entries",)),
    Case("--params is a directory", lambda t: ["devnet", "reset", "--params", str(t), *DEVNET, str(t / "devnet")],
         2, ("protocol parameters",)),
    Case("--params a JSON list", lambda t: ["devnet", "reset", "--params", str(config(t, "[1, 2]")), *DEVNET,
                                            str(t / "devnet")], 2, ("protocol parameters",)),
    Case("--slot-length-ms 0", lambda t: ["devnet", "reset", "--slot-length-ms", "0", *DEVNET, str(t / "devnet")],
         2, ("slot_length_ms",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_a_message_with_a_location_and_a_hint(capsys, tmp_path, case):
    code, _, err = run(capsys, *case.setup(tmp_path))
    assert code == case.exit_code, err
    assert err.startswith("error[") and "hint:" in err and "Traceback" not in err
    for text in case.says:
        assert text in err
    assert case.left(tmp_path)


def test_up_on_a_busy_port_leaves_no_new_devnet_behind(capsys, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, _, err = run(capsys, *up(tmp_path, "--ogmios-port", str(busy.getsockname()[1]), "--kupo-port", "0"))
    assert code == 2 and "--ogmios-port" in err
    assert nothing_left(tmp_path / "devnet")


def test_up_on_a_busy_port_keeps_an_existing_devnet(capsys, tmp_path):
    assert run(capsys, "devnet", "reset", "--data-dir", str(tmp_path / "devnet"))[0] == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, _, _ = run(capsys, *up(tmp_path, "--ogmios-port", str(busy.getsockname()[1])))
    assert code == 2 and (tmp_path / "devnet" / "ledger.cbor").exists()


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make ``directory`` read-only for this process: a read-only tmpfs under root (CI runs as
    root, where file modes do not stop writes), file modes otherwise."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    saved = {p.name: p.read_bytes() for p in directory.iterdir()}
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(directory)], check=False,
                      capture_output=True).returncode:
        pytest.skip("root without mount: cannot make a directory read-only for this process")
    try:
        for name, data in saved.items():
            (directory / name).write_bytes(data)
        subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


@pytest.mark.parametrize("command", [["up", "--ogmios-port", "0", "--kupo-port", "0"], ["reset"], ["tick"],
                                     ["advance", "--slots", "1"]])
def test_a_read_only_devnet_is_refused_with_a_message_and_status_still_reads_it(capsys, tmp_path, command):
    directory = tmp_path / "devnet"
    assert run(capsys, "devnet", "reset", "--data-dir", str(directory))[0] == 0
    with read_only(directory):
        before = {p.name: p.read_bytes() for p in directory.iterdir()}
        code, _, err = run(capsys, "devnet", *command, "--data-dir", str(directory))
        assert code == 2 and ("read-only" in err or "permission denied" in err), err
        assert "hint:" in err and "Traceback" not in err
        assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
        code, _, err = run(capsys, "devnet", "status", "--data-dir", str(directory))
        assert code == 0, err
