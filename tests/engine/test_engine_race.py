"""Two engines, two data directories, one chain, the same release at the same moment: each
allocation is paid exactly once and both end in success or "already done"."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from runner.devnet.servers.ogmios.methods import LedgerGuard
from runner.engine import Engine, discovery
from runner.engine.backends import embedded
from runner.testing.engine_world import World, address, key, names, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.mark.parametrize("payers", ["same payer (identical transactions)", "two payers (two transactions)"])
def test_two_engines_releasing_the_same_schedule_pay_each_allocation_once(tmp_path, payers):
    world = World.create(payer_utxos=4)
    second = key("payer 2") if payers.startswith("two") else world.payer
    for _ in range(2):
        world.ledger.fund(address(second), 100_000_000)
    _, engine = run(world.context(tmp_path / "setup"), world.schedule_steps())
    contract = engine.results["register"]["contract_address"]
    ctx = world.context(tmp_path / "setup")
    message = discovery.by_address(ctx, contract).schedule.message("m1")
    run(ctx, [world.certify_step(contract, "m1", message)])
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations if a.milestone == "m1"))  # type: ignore[union-attr]
    guard: LedgerGuard = world.guard
    both_built = threading.Barrier(2, timeout=60)
    results: dict[str, Any] = {}

    def engine_on(name: str) -> None:
        connection = embedded(guard)  # its own client, the same chain
        def wait(phase: str) -> None:
            if phase == "journaled":
                both_built.wait()  # both have built and journaled before either submits
        try:
            ctx = world.context(tmp_path / name, backend=connection.backend)
            step = world.release_step(contract)
            if name == "b":
                ctx.keys.add(second)
                step.payer_address = address(second)
            results[name] = list(Engine(ctx, on_phase=wait).run([step]))
        except Exception as exc:  # noqa: BLE001  # reported by the assertion below
            results[name] = exc

    before = [world.tokens_of(b) for b in world.beneficiaries]
    threads = [threading.Thread(target=engine_on, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, list) for r in results.values()), results
    after = [world.tokens_of(b) for b in world.beneficiaries]
    assert [x - y for x, y in zip(after, before, strict=True)] == [100, 200, 300]
    outcomes = sorted("Confirmed" in names(r) for r in results.values())
    assert outcomes == [False, True]  # one won, the other ...
    loser = next(r for r in results.values() if "Confirmed" not in names(r))
    [done] = [e for e in loser if e.name == "AlreadyDone"]
    if payers.startswith("two"):  # the ledger refused the second spend; a fresh look says why
        assert "another transaction" in done.reason  # type: ignore[attr-defined]
        assert "already released" in " ".join(e.reason for e in loser if e.name == "Noop")  # type: ignore[attr-defined]
    else:  # the same bytes: the second submission finds its own transaction on chain
        assert "already landed" in done.reason  # type: ignore[attr-defined]


def test_a_release_whose_pots_another_runner_takes_between_observe_and_build_reports_already_released(tmp_path):
    world = World.create(payer_utxos=4)
    _, engine = run(world.context(tmp_path / "setup"), world.schedule_steps())
    contract = engine.results["register"]["contract_address"]
    ctx = world.context(tmp_path / "setup")
    message = discovery.by_address(ctx, contract).schedule.message("m1")
    run(ctx, [world.certify_step(contract, "m1", message)])
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations if a.milestone == "m1"))  # type: ignore[union-attr]
    raced: list[bool] = []
    step = world.release_step(contract)
    build = step.build

    def build_after_the_other_runner(ctx: Any, facts: Any, decision: Any) -> Any:
        if not raced:  # the other runner releases the same pots first
            raced.append(True)
            list(Engine(world.context(tmp_path / "other")).run([world.release_step(contract)]))
        return build(ctx, facts, decision)

    step.build = build_after_the_other_runner  # type: ignore[method-assign]
    before = [world.tokens_of(b) for b in world.beneficiaries]
    found = list(Engine(world.context(tmp_path / "mine")).run([step]))
    assert raced and "Submitted" not in names(found)
    assert "already released" in next(e.reason for e in found if e.name == "Noop")  # type: ignore[attr-defined]
    after = [world.tokens_of(b) for b in world.beneficiaries]
    assert [x - y for x, y in zip(after, before, strict=True)] == [100, 200, 300]
