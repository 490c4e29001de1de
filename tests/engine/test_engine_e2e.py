"""The engine end to end on the devnet's real ledger (no mocks): every step is idempotent,
the chain is the state, plan mode changes nothing."""

from __future__ import annotations

import sys

import pytest

from runner.testing.engine_world import World, address, names, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    world = World.create()
    events, engine = run(world.context(tmp_path_factory.mktemp("a")), world.schedule_steps())
    contract = engine.results["register"]["contract_address"]
    return world, contract, events


def test_register_deploys_stakes_and_locks_once(registered):
    world, contract, events = registered
    assert names(events).count("Confirmed") == 3
    assert len(world.ledger.utxos_at(contract)) == 2  # one pot per (milestone, vesting time)


def test_running_register_again_from_an_empty_data_dir_does_nothing(registered, tmp_path):
    world, contract, _ = registered
    events, engine = run(world.context(tmp_path), world.schedule_steps())
    assert "Submitted" not in names(events) and names(events).count("Noop") == 3
    assert engine.results["register"]["contract_address"] == contract


def test_plan_mode_reports_without_journaling_or_submitting(tmp_path):
    world = World.create()
    tip = world.ledger.tip
    events, _ = run(world.context(tmp_path, plan_mode=True), world.schedule_steps())
    planned = [e for e in events if e.name == "Planned"]
    assert planned[0].txs[0].fee > 0  # type: ignore[attr-defined]
    assert [p.known_after_apply for p in planned] == [False, True, True]  # type: ignore[attr-defined]
    assert world.ledger.tip == tip and not (tmp_path / "journal").exists()


def test_certify_and_release_work_once_each_from_any_data_dir(registered, tmp_path):
    world, contract, _ = registered
    ctx = world.context(tmp_path / "b")
    from runner.engine import discovery

    message = discovery.by_address(ctx, contract).schedule.message("m1")
    events, _ = run(ctx, [world.certify_step(contract, "m1", message)])
    assert names(events).count("Confirmed") == 1
    events, _ = run(world.context(tmp_path / "c"), [world.certify_step(contract, "m1", message)])
    assert "Noop" in names(events) and "Submitted" not in names(events)
    events, _ = run(world.context(tmp_path / "c"), [world.release_step(contract)])
    assert next(e.reason for e in events if e.name == "Noop").startswith("nothing to release")  # type: ignore[attr-defined]
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations if a.milestone == "m1"))  # type: ignore[union-attr]
    before = [world.tokens_of(b) for b in world.beneficiaries]
    events, engine = run(world.context(tmp_path / "d"), [world.release_step(contract)])
    assert names(events).count("Confirmed") == 1
    after = [world.tokens_of(b) for b in world.beneficiaries]
    assert [a - b for a, b in zip(after, before, strict=True)] == [100, 200, 300]
    events, _ = run(world.context(tmp_path / "e"), [world.release_step(contract)])
    assert "Submitted" not in names(events)
    assert [world.tokens_of(b) for b in world.beneficiaries] == after
    reasons = {r["reason"] for r in engine.results["release"]["allocations"]}  # type: ignore[index]
    assert reasons == {"already released", "not certified"}
    assert address(world.payer)
