"""A payer with ONE UTxO and more pots than one transaction releases: the release step
builds the whole chain in one round (each transaction paid by the previous one's change),
journals every transaction before submitting the first, and submits them in order; after a
crash between journaling and submitting, recovery resubmits the same bytes in order and the
chain lands whole (nothing rebuilt, nothing paid twice)."""

from __future__ import annotations

import sys
from pathlib import Path

import pycardano as pc
import pytest

from runner.chain.pycardano_context import to_pycardano_utxo
from runner.engine import Engine, discovery, events
from runner.engine.chainview import backend_utxo
from runner.testing.engine_world import TOKEN, World, address, key, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

BENEFICIARIES = 160  # x 2 milestones = 320 allocations: more than one release transaction holds


class Crash(Exception):
    pass


def _world(tmp_path: Path) -> tuple[World, str]:
    world = World.create(payer_utxos=0)
    world.beneficiaries = [key(f"chained ben {i}") for i in range(BENEFICIARIES)]
    total = sum(100 * (i + 1) * 2 for i in range(BENEFICIARIES))  # as make_definition allocates
    world.ledger.fund(address(world.owner), 1_000_000_000, {TOKEN: total})  # the pots' ADA too
    world.ledger.fund(address(world.payer), 100_000_000)  # the payer's ONE UTxO
    world.definition = world.make_definition()
    _, engine = run(world.context(tmp_path / "setup"), world.schedule_steps())
    contract = str(engine.results["register"]["contract_address"])
    ctx = world.context(tmp_path / "setup")
    schedule = discovery.by_address(ctx, contract).schedule
    run(ctx, [world.certify_step(contract, m, schedule.message(m)) for m in ("m1", "m2")])
    assert world.definition is not None
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations))
    return world, contract


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, list[events.Event], list[events.Event]]:
    tmp_path = tmp_path_factory.mktemp("chained")
    world, contract = _world(tmp_path)
    payer_utxos = world.ledger.utxos_at(address(world.payer))
    assert len(payer_utxos) == 1
    ctx = world.context(tmp_path / "release")

    def crash_once(phase: str) -> None:
        if phase == "journaled":
            raise Crash(phase)

    first: list[events.Event] = []
    with pytest.raises(Crash):
        for e in Engine(ctx, on_phase=crash_once).run([world.release_step(contract)]):
            first.append(e)  # noqa: PERF402  # keep the events seen before the crash
    again, _ = run(world.context(tmp_path / "release"), [world.release_step(contract)])
    return world, first, again


def test_one_round_builds_and_journals_the_whole_chain_before_submitting(
        crashed: tuple[World, list[events.Event], list[events.Event]]) -> None:
    _, first, _ = crashed
    planned = [e for e in first if isinstance(e, events.Planned)]
    assert len(planned) == 1 and len(planned[0].txs) >= 2
    journaled = [e for e in first if isinstance(e, events.Journaled)]
    assert [j.tx_id for j in journaled] == [t.tx_id for t in planned[0].txs]
    assert not [e for e in first if isinstance(e, events.Submitted)]  # crashed before the first submission


def test_recovery_resubmits_the_chain_in_order_and_every_beneficiary_is_paid_once(
        crashed: tuple[World, list[events.Event], list[events.Event]]) -> None:
    world, first, again = crashed
    [planned] = [e for e in first if isinstance(e, events.Planned)]
    recovered = [e for e in again if isinstance(e, events.Recovered)]
    assert [r.tx_id for r in recovered] == [t.tx_id for t in planned.txs]
    assert all(r.fate == "resubmitted" for r in recovered)
    assert not [e for e in again if isinstance(e, events.Planned)]  # nothing rebuilt: the step has nothing left
    assert world.definition is not None
    for i, b in enumerate(world.beneficiaries):
        assert world.tokens_of(b) == sum(a.amount for a in world.definition.allocations
                                         if a.beneficiary == address(b)), i


def test_an_output_given_to_the_evaluator_reads_back_as_the_same_output() -> None:
    ref = pc.TransactionInput(pc.TransactionId(bytes(range(32))), 3)
    tokens = pc.MultiAsset.from_primitive({bytes(28): {b"GRANT": 7, b"": 1}})
    shapes = [
        pc.TransactionOutput(pc.Address.from_primitive(address(key("a"))), pc.Value(5_000_000)),
        pc.TransactionOutput(pc.Address.from_primitive(address(key("b"))), pc.Value(2_000_000, tokens),
                             datum=pc.RawCBOR(bytes.fromhex("d87980"))),
        pc.TransactionOutput(pc.Address.from_primitive(address(key("c"))), pc.Value(2_000_000),
                             datum_hash=pc.DatumHash(bytes(32))),
    ]
    for out in shapes:
        back = to_pycardano_utxo(backend_utxo(pc.UTxO(ref, out)))
        assert back.input == ref
        assert back.output.to_cbor() == out.to_cbor()
    with pytest.raises(ValueError, match="reference script"):
        backend_utxo(pc.UTxO(ref, pc.TransactionOutput(shapes[0].address, pc.Value(5_000_000),
                                                       script=pc.PlutusV3Script(b"\x01"))))
