"""The chain moves under a build: another runner (a second engine, its own data directory, the
same embedded devnet) does the step's work between our observation and our evaluation.  The
step must look again and say "already done" (no error, nothing submitted), and the chain must
show the work done exactly once.

Deterministic: the second engine runs inside our evaluator (or our build), so the spend always
lands between our observation and the ledger's evaluation of what we built."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.engine import Engine, ReclaimStep, Where, discovery
from runner.engine.context import Context
from runner.engine.run import inputs_moved
from runner.errors import LedgerRejection
from tests.test_engine_kit import World, address, names, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


def registered(tmp_path: Path) -> tuple[World, str]:
    world = World.create(payer_utxos=4)
    world.ledger.fund(address(world.owner), 30_000_000)
    _, engine = run(world.context(tmp_path / "setup"), world.schedule_steps())
    return world, str(engine.results["register"]["contract_address"])


def certify(world: World, tmp_path: Path, contract: str, milestone: str) -> None:
    ctx = world.context(tmp_path / "setup")
    message = discovery.by_address(ctx, contract).schedule.message(milestone)
    run(ctx, [world.certify_step(contract, milestone, message)])
    assert world.definition is not None
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations if a.milestone == milestone))


def other_runner_inside_our_evaluation(ctx: Context, other: Callable[[], None]) -> list[bool]:
    """Make ``other`` run once, right before the ledger evaluates our first transaction."""
    raced: list[bool] = []
    original = ctx.chain.evaluator

    def evaluator() -> Callable[[Any], Any]:
        evaluate = original()

        def hooked(tx: Any) -> Any:
            if not raced:
                raced.append(True)
                other()
            return evaluate(tx)
        return hooked

    ctx.chain.evaluator = evaluator  # type: ignore[method-assign]
    return raced


def reclaim_step(world: World, contract: str) -> ReclaimStep:
    return ReclaimStep(where=Where(contract_address=contract), owner_address=address(world.owner), id="reclaim")


def test_a_reclaim_whose_last_pot_another_runner_reclaims_before_evaluation_reports_nothing_left(tmp_path):
    world, contract = registered(tmp_path)
    certify(world, tmp_path, contract, "m1")
    run(world.context(tmp_path / "setup"), [world.release_step(contract)])  # one pot (m2) left
    assert world.definition is not None
    world.advance_past(world.definition.expiry_ms)
    ctx = world.context(tmp_path / "mine")
    raced = other_runner_inside_our_evaluation(
        ctx, lambda: list(Engine(world.context(tmp_path / "other")).run([reclaim_step(world, contract)])))
    before = world.tokens_of(world.owner)
    found = list(Engine(ctx).run([reclaim_step(world, contract)]))
    assert raced and "Submitted" not in names(found)
    assert "nothing left" in next(e.reason for e in found if e.name == "Noop")  # type: ignore[attr-defined]
    assert world.tokens_of(world.owner) == before + 100 + 200 + 300  # the m2 pot, reclaimed once


def test_a_release_whose_only_pot_another_runner_releases_before_evaluation_reports_already_released(tmp_path):
    world, contract = registered(tmp_path)
    certify(world, tmp_path, contract, "m1")
    ctx = world.context(tmp_path / "mine")
    raced = other_runner_inside_our_evaluation(
        ctx, lambda: list(Engine(world.context(tmp_path / "other")).run([world.release_step(contract)])))
    before = [world.tokens_of(b) for b in world.beneficiaries]
    found = list(Engine(ctx).run([world.release_step(contract)]))
    assert raced and "Submitted" not in names(found)
    assert "already released" in next(e.reason for e in found if e.name == "Noop")  # type: ignore[attr-defined]
    after = [world.tokens_of(b) for b in world.beneficiaries]
    assert [x - y for x, y in zip(after, before, strict=True)] == [100, 200, 300]


def test_a_register_whose_seed_another_runner_spends_before_our_build_reports_registered(tmp_path):
    world = World.create(payer_utxos=4)
    deploy, stake, register = world.schedule_steps()
    run(world.context(tmp_path / "setup"), [deploy, stake])
    build = register.build
    raced: list[bool] = []

    def build_after_the_other_runner(ctx: Any, facts: Any, decision: Any) -> Any:
        if not raced:
            raced.append(True)
            list(Engine(world.context(tmp_path / "other")).run([world.schedule_steps()[2]]))
        return build(ctx, facts, decision)

    register.build = build_after_the_other_runner  # type: ignore[method-assign]
    found = list(Engine(world.context(tmp_path / "mine")).run([register]))
    assert raced and "Submitted" not in names(found)
    assert "registered" in next(e.reason for e in found if e.name == "Noop")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "data", "moved"), [
    (3117, {"unknownOutputReferences": []}, True),
    (3004, {"reason": "Unknown transaction input (missing from UTxO set): ab#0"}, True),
    (3010, [{"validator": {"index": 1, "purpose": "spend"}, "error": {"code": 3117, "message": "unknown"}}], True),
    (3004, {"reason": "Inline datums not supported in plutus:v1."}, False),
    (3010, [{"validator": {"index": 0, "purpose": "spend"}, "error": {"code": 3012, "message": "failed"}}], False),
])
def test_which_refusals_mean_the_chain_moved(code, data, moved):
    assert inputs_moved(LedgerRejection("refused", ogmios_code=code, data=data)) is moved
