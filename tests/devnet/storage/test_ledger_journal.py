"""Persistence by snapshot + append-only journal: what is read back is exactly a state the
ledger had, whatever mix of changes, crashes and resets came before."""

from __future__ import annotations

import itertools

import pytest
from pycardano import StakeCredential, StakeRegistration

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.storage import journal as ledger_journal
from runner.devnet.storage.store import load_ledger, save_ledger
from runner.errors import StateError
from runner.testing.ledger import ALWAYS_SUCCEEDS, HandTx, accepted, same_state, script_address


def busy(ledger: Ledger) -> None:
    """Payments, a stake registration, a script lock, time travel, a rollback (one tx back
    to the mempool, one gone), a tick-mode mempool: every kind of change."""
    hand = HandTx(ledger)
    accepted(ledger, hand.pay("alice", "bob"))
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], adjust=-2_000_000,
                                certificates=[StakeRegistration(StakeCredential(
                                    script_address(ALWAYS_SUCCEEDS).payment_part))]))
    hand.lock(ALWAYS_SUCCEEDS, datum=42, script_ref=ALWAYS_SUCCEEDS)
    ledger.advance_slots(30)
    accepted(ledger, hand.pay("bob", "carol"))
    ledger.rollback(2, to_mempool=True)
    ledger.block_mode = "tick"
    ledger.submit(hand.pay("carol", "alice"))


def test_a_reload_replays_the_journal_to_the_exact_state_and_keeps_appending(ledger_factory, tmp_path):
    ledger = ledger_factory(data_dir=tmp_path)
    busy(ledger)
    snapshot_size = (tmp_path / "ledger.cbor").stat().st_size
    loaded = load_ledger(tmp_path)
    same_state(loaded, ledger)
    assert (tmp_path / "ledger.cbor").stat().st_size == snapshot_size  # saves appended, no rewrite
    loaded.tick()
    accepted(loaded, HandTx(loaded).pay("bob", "alice"))
    same_state(load_ledger(tmp_path), loaded)


def test_a_torn_last_record_is_ignored_and_the_next_save_starts_a_new_snapshot(ledger_factory, tmp_path):
    ledger = ledger_factory(data_dir=tmp_path)
    accepted(ledger, HandTx(ledger).pay("alice", "bob"))
    before = load_ledger(tmp_path)
    accepted(ledger, HandTx(ledger).pay("bob", "carol"))
    log = tmp_path / ledger_journal.JOURNAL_FILE
    log.write_bytes(log.read_bytes()[:-7])  # the crash cut the last append short
    torn = load_ledger(tmp_path)
    same_state(torn, before)
    accepted(torn, HandTx(torn).pay("carol", "alice"))
    same_state(load_ledger(tmp_path), torn)


def test_a_journal_of_another_snapshot_is_not_replayed(ledger_factory, tmp_path):
    ledger = ledger_factory(data_dir=tmp_path)
    accepted(ledger, HandTx(ledger).pay("alice", "bob"))
    old_log = (tmp_path / ledger_journal.JOURNAL_FILE).read_bytes()
    ledger.reset()  # a new snapshot (new generation) of the genesis state
    (tmp_path / ledger_journal.JOURNAL_FILE).write_bytes(old_log)  # as if the crash came before the new log
    reloaded = load_ledger(tmp_path)
    assert reloaded.tip.height == 0 and dict(reloaded.utxo) == dict(ledger.utxo)


def test_a_large_journal_is_folded_into_a_new_snapshot(ledger_factory, tmp_path, monkeypatch):
    monkeypatch.setattr(ledger_journal, "MIN_COMPACTION_BYTES", 0)
    monkeypatch.setattr(ledger_journal, "COMPACTION_RATIO", 0.05)
    ledger = ledger_factory(data_dir=tmp_path)
    log = tmp_path / ledger_journal.JOURNAL_FILE
    sizes = []
    for _ in range(60):
        ledger.advance_slots(1)
        sizes.append(log.stat().st_size)
    assert any(later < earlier for earlier, later in itertools.pairwise(sizes))  # it was restarted
    same_state(load_ledger(tmp_path), ledger)


def test_save_to_another_directory_writes_a_full_snapshot_there(ledger_factory, tmp_path):
    ledger = ledger_factory(data_dir=tmp_path / "main")
    busy(ledger)
    save_ledger(ledger, tmp_path / "copy")
    same_state(load_ledger(tmp_path / "copy"), ledger)
    ledger.submit(HandTx(ledger).pay("bob", "alice"))
    ledger.tick()
    same_state(load_ledger(tmp_path / "main"), ledger)


@pytest.mark.parametrize("garbage", [b"", b"\x00\x00\x00\x05abc"])
def test_an_emptied_or_garbled_journal_is_reported_not_skipped(ledger_factory, tmp_path, garbage):
    ledger = ledger_factory(data_dir=tmp_path)
    accepted(ledger, HandTx(ledger).pay("alice", "bob"))
    (tmp_path / ledger_journal.JOURNAL_FILE).write_bytes(garbage)
    with pytest.raises(StateError, match="journal is damaged.*every change saved after the snapshot is lost"):
        load_ledger(tmp_path)


def test_a_copy_saved_twice_reads_back_without_notes(ledger_factory, tmp_path):
    from runner.devnet.storage.store import load_ledger_reporting

    ledger = ledger_factory(data_dir=tmp_path / "main")
    save_ledger(ledger, tmp_path / "copy")
    accepted(ledger, HandTx(ledger).pay("alice", "bob"))
    save_ledger(ledger, tmp_path / "copy")
    copy, notes = load_ledger_reporting(Ledger, tmp_path / "copy")
    assert notes == []
    same_state(copy, ledger)


def test_a_journal_in_the_format_before_checksums_is_still_replayed(ledger_factory, tmp_path):
    import struct

    import cbor2

    ledger = ledger_factory(data_dir=tmp_path)
    busy(ledger)
    log = tmp_path / ledger_journal.JOURNAL_FILE
    data, offset, legacy = log.read_bytes(), 0, b""
    while offset < len(data):  # re-frame every record as before: length, then CBOR
        _, size, _ = struct.unpack_from(">4sII", data, offset)
        body = data[offset + 12:offset + 12 + size]
        legacy += struct.pack(">I", len(body)) + cbor2.dumps(cbor2.loads(body))
        offset += 12 + size
    log.write_bytes(legacy)
    reloaded = load_ledger(tmp_path)
    same_state(reloaded, ledger)
    accepted(reloaded, HandTx(reloaded).pay("bob", "alice"))  # saved as a new snapshot, new format
    assert log.read_bytes().startswith(ledger_journal.MAGIC)
    same_state(load_ledger(tmp_path), reloaded)
