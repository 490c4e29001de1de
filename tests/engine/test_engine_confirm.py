"""Confirmation depth, deadlines and rollbacks on the devnet's real ledger."""

from __future__ import annotations

import sys

import pytest

from runner.errors import InDoubt
from runner.store.journal import Journal
from runner.testing.engine_world import World, names, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


def test_a_transaction_counts_only_with_the_configured_blocks_on_top(tmp_path):
    world = World.create()
    ticks: list[int] = []

    def tick(seconds: float) -> None:  # the injected sleep: the chain moves on while we wait
        ticks.append(world.ledger.tick().height)

    ctx = world.context(tmp_path, confirmations=2)
    ctx.settings = type(ctx.settings)(confirmations=2, sleep=tick, poll_interval=0)
    found, _ = run(ctx, world.schedule_steps()[:1])
    [confirmed] = [e for e in found if e.name == "Confirmed"]
    assert confirmed.depth == 2 and len(ticks) == 2  # type: ignore[attr-defined]


def test_waiting_has_a_deadline_and_says_what_to_do(tmp_path):
    world = World.create()
    now = [0.0]
    ctx = world.context(tmp_path)
    ctx.settings = type(ctx.settings)(confirmations=5, confirm_timeout=10, clock=lambda: now[0],
                                      sleep=lambda s: now.__setitem__(0, now[0] + 4), poll_interval=4)
    with pytest.raises(InDoubt) as caught:
        run(ctx, world.schedule_steps()[:1])
    assert caught.value.exit_code == 6 and "again" in (caught.value.hint or "")
    [entry] = Journal(tmp_path / "journal").entries()
    assert entry.status == "submitted"  # the next run keeps waiting for the same transaction


def test_a_rollback_that_drops_a_confirmed_transaction_is_noticed_and_it_is_resubmitted(tmp_path):
    world = World.create()
    found, _ = run(world.context(tmp_path), world.schedule_steps()[:1])
    [tx_id] = [e.tx_id for e in found if e.name == "Confirmed"]  # type: ignore[attr-defined]
    world.ledger.rollback(1, to_mempool=False)
    assert not world.ledger.has_transaction(tx_id)
    again, _ = run(world.context(tmp_path), world.schedule_steps()[:1])
    fates = [e.fate for e in again if e.name == "Recovered"]  # type: ignore[attr-defined]
    assert fates[0] == "rolled back" and world.ledger.has_transaction(tx_id)  # the same transaction again
    assert "Planned" not in names(again)
