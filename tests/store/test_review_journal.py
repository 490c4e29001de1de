"""Review: a journal entry under the data directory is trusted byte for byte on recovery.

runner/store/journal.py never checks that ``cbor_hex`` is the transaction named by
``tx_id`` (the file name) nor that ``inputs`` are its inputs; runner/engine/run.py
``recover`` -> ``_resolve`` -> ``_submit`` sends ``entry.cbor_hex`` as soon as ``fate``
says "pending".  A damaged or planted entry is therefore submitted, not detected."""

from __future__ import annotations

from runner.engine import Engine
from runner.errors import InDoubt, StateError
from runner.store.journal import JournalEntry
from runner.testing.engine_world import OTHER, World, lovelace_of, refs, signed_payment


def test_an_honest_pending_entry_is_resubmitted_once(tmp_path):
    world = World.create()
    tx = signed_payment(world)
    ctx = world.context(tmp_path)
    ctx.journal.record(JournalEntry("review", str(tx.id), tx.to_cbor_hex(), refs(tx), None))
    found = list(Engine(ctx).run([]))
    assert lovelace_of(world, OTHER) == 2_000_000
    assert [e.name for e in found].count("Submitted") == 1
    again = list(Engine(world.context(tmp_path)).run([]))
    assert "Submitted" not in [e.name for e in again] and lovelace_of(world, OTHER) == 2_000_000


def test_an_entry_whose_cbor_is_another_transaction_is_not_submitted(tmp_path):
    world = World.create()
    tx = signed_payment(world)
    ctx = world.context(tmp_path, confirm_timeout=1)
    forged_id = "ab" * 32
    ctx.journal.record(JournalEntry("release", forged_id, tx.to_cbor_hex(), (), None))
    try:
        list(Engine(ctx).run([]))
    except (StateError, InDoubt):  # main: submitted, then waits for a tx_id that never comes
        pass
    assert lovelace_of(world, OTHER) == 0, "a journal entry's bytes that are not its tx_id were submitted"
