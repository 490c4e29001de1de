"""An acknowledgment means durable: a change whose save fails (disk full) is refused and not
made, memory and disk stay in step, and later acknowledged changes are never hidden."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.devnet.storage import journal as ledger_journal
from runner.devnet.storage import store as ledger_store
from runner.devnet.storage.store import home_of, load_ledger
from runner.errors import StateError
from runner.testing.ledger import HandTx, accepted, same_state


def disk_full(*_: Any, **__: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def half_then_disk_full(fd: int, data: bytes, offset: int) -> None:
    os.pwrite(fd, data[: len(data) // 2], offset)
    raise OSError(errno.ENOSPC, "No space left on device")


def refused_and_unchanged(ledger: Ledger, tx: Any) -> None:
    before = load_ledger(home_of(ledger).directory)  # what disk holds = what memory held
    same_state(before, ledger)
    with pytest.raises(StateError, match="No space left on device.*the change was not made"):
        ledger.submit(tx)
    tx_id = tx.id.payload.hex()
    assert not ledger.has_transaction(tx_id) and not ledger.in_mempool(tx_id)
    same_state(ledger, before)


@pytest.mark.parametrize("seam,fault", [("_sync", disk_full), ("_write_at", half_then_disk_full),
                                        ("_write_at", disk_full)])
def test_a_failed_journal_write_refuses_the_submission_and_later_ones_survive(
        ledger_factory, tmp_path, monkeypatch, seam, fault):
    ledger = ledger_factory(data_dir=tmp_path)
    accepted(ledger, HandTx(ledger).pay("alice", "bob"))
    with monkeypatch.context() as patch:
        patch.setattr(ledger_journal, seam, fault)
        refused_and_unchanged(ledger, HandTx(ledger).pay("bob", "carol"))
    later = [accepted(ledger, HandTx(ledger).pay(*pair)) for pair in [("bob", "carol"), ("carol", "alice")] * 10]
    reloaded = load_ledger(tmp_path)
    same_state(reloaded, ledger)
    assert all(reloaded.has_transaction(tx_id) for tx_id in later)


def test_a_torn_write_that_cannot_be_cut_back_never_hides_later_changes(ledger_factory, tmp_path, monkeypatch):
    ledger = ledger_factory(data_dir=tmp_path)
    accepted(ledger, HandTx(ledger).pay("alice", "bob"))
    with monkeypatch.context() as patch:
        patch.setattr(ledger_journal, "_write_at", half_then_disk_full)
        patch.setattr(ledger_journal.os, "ftruncate", disk_full)  # the torn half stays on disk
        with pytest.raises(StateError):
            ledger.submit(HandTx(ledger).pay("bob", "carol"))
    later = [accepted(ledger, HandTx(ledger).pay("bob", "carol")) for _ in range(3)]
    reloaded = load_ledger(tmp_path)
    same_state(reloaded, ledger)
    assert all(reloaded.has_transaction(tx_id) for tx_id in later)


def test_a_failed_snapshot_write_refuses_the_change_and_keeps_the_old_state(ledger_factory, tmp_path, monkeypatch):
    ledger = ledger_factory(data_dir=tmp_path)
    monkeypatch.setattr(ledger_journal, "MIN_COMPACTION_BYTES", 0)
    monkeypatch.setattr(ledger_journal, "COMPACTION_RATIO", 0.0)  # every save is a snapshot
    accepted(ledger, HandTx(ledger).pay("alice", "bob"))
    with monkeypatch.context() as patch:
        patch.setattr(ledger_store, "write_bytes_atomic", disk_full)
        refused_and_unchanged(ledger, HandTx(ledger).pay("bob", "carol"))
        with pytest.raises(StateError):
            ledger.advance_slots(10)
        assert ledger.current_slot == load_ledger(tmp_path).current_slot
    accepted(ledger, HandTx(ledger).pay("bob", "carol"))
    same_state(load_ledger(tmp_path), ledger)


def test_a_save_that_cannot_be_read_back_makes_every_later_save_refuse(ledger_factory, tmp_path, monkeypatch):
    ledger = ledger_factory(data_dir=tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(ledger_journal, "_sync", disk_full)
        patch.setattr(ledger_store, "_read_snapshot", lambda *_: disk_full())
        with pytest.raises(StateError, match="could not be read back"):
            ledger.advance_slots(1)
    with pytest.raises(StateError, match="no longer the one on disk"):
        ledger.advance_slots(1)


@contextlib.contextmanager
def tiny_tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): the injected-fault tests cover the logic")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    return filler


def test_a_really_full_disk_refuses_submissions_until_space_is_freed(ledger_factory, tmp_path):
    with tiny_tmpfs(tmp_path / "disk", "2m") as disk:
        ledger = ledger_factory(data_dir=disk)
        accepted(ledger, HandTx(ledger).pay("alice", "bob"))
        filler = fill(disk)
        acknowledged = []
        for _ in range(40):  # the journal's last page may still have room for a few records
            tx = HandTx(ledger).pay("bob", "carol")
            try:
                acknowledged.append(ledger.submit(tx))
            except StateError as exc:
                assert "No space left on device" in str(exc)
                break
        else:
            raise AssertionError("the disk never filled up")
        assert not ledger.in_mempool(tx.id.payload.hex()) and not ledger.has_transaction(tx.id.payload.hex())
        same_state(load_ledger(disk), ledger)
        refused_and_unchanged(ledger, HandTx(ledger).pay("bob", "carol"))
        filler.unlink()
        later = [accepted(ledger, HandTx(ledger).pay(*pair)) for pair in [("bob", "carol"), ("carol", "bob")] * 10]
        reloaded = load_ledger(disk)
        same_state(reloaded, ledger)
        assert all(reloaded.has_transaction(tx_id) for tx_id in later)


def test_the_server_never_acknowledges_a_submission_it_could_not_save(ledger_factory, tmp_path, monkeypatch):
    ledger = ledger_factory(data_dir=tmp_path)

    def submit(ws: Any, tx: Any) -> dict[str, Any]:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "submitTransaction", "id": 1,
                            "params": {"transaction": {"cbor": tx.to_cbor_hex()}}}))
        return dict(json.loads(ws.recv(timeout=60)))

    with serving(ledger) as running, connect(running.ogmios_url) as ws:
        with monkeypatch.context() as patch:
            patch.setattr(ledger_journal, "_sync", disk_full)
            refused = HandTx(ledger).pay("alice", "bob")
            reply = submit(ws, refused)
            assert "result" not in reply and "No space left on device" in reply["error"]["message"]
        assert not ledger.in_mempool(refused.id.payload.hex()) and not ledger.has_transaction(refused.id.payload.hex())
        acknowledged = [submit(ws, HandTx(ledger).pay(*pair))["result"]["transaction"]["id"]
                        for pair in [("alice", "bob"), ("bob", "carol")] * 3]
    reloaded = load_ledger(tmp_path)
    assert all(reloaded.has_transaction(tx_id) for tx_id in acknowledged)
    same_state(reloaded, ledger)
