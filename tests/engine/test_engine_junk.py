"""An attacker plants UTxOs at the schedule's pot address (junk datums, foreign tokens, dust,
a forged copy of a real pot backed by the attacker's own tokens) before and during a release:
the release still finishes, reports what it ignored and why, and pays exactly the schedule."""

from __future__ import annotations

import sys
from typing import Any

import pycardano as pc

from runner.devnet.ledger.chain_context import DevnetChainContext
from runner.engine import Engine, discovery
from runner.testing.engine_world import TOKEN, World, address, key, names, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
ATTACKER = key("attacker")


def plant(world: World, to: str, value: pc.Value, datum: Any = None) -> pc.TransactionInput:
    builder = pc.TransactionBuilder(DevnetChainContext(world.ledger))
    builder.add_input_address(pc.Address.from_primitive(address(ATTACKER)))
    builder.add_output(pc.TransactionOutput(pc.Address.from_primitive(to), value, datum=datum))
    tx = builder.build_and_sign([ATTACKER], change_address=pc.Address.from_primitive(address(ATTACKER)))
    return pc.TransactionInput(pc.TransactionId(bytes.fromhex(world.ledger.submit(tx))), 0)


def grant(world: World, amount: int, lovelace: int = 5_000_000) -> pc.Value:
    return pc.Value(lovelace, pc.MultiAsset.from_primitive({world.policy: {TOKEN: amount}}))


def test_planted_utxos_are_ignored_with_reasons_and_only_the_schedule_is_paid(tmp_path):
    world = World.create()
    world.ledger.fund(address(ATTACKER), 200_000_000, {TOKEN: 10_000, b"JUNK": 7})
    _, engine = run(world.context(tmp_path), world.schedule_steps())
    contract = engine.results["register"]["contract_address"]
    ctx = world.context(tmp_path)
    message = discovery.by_address(ctx, contract).schedule.message("m1")
    run(ctx, [world.certify_step(contract, "m1", message)])
    genuine = [o for _, o in world.ledger.utxos_at(contract)]
    m1_pot = next(o for o in genuine if b"m1" in bytes(o.datum.to_cbor()))
    planted = [
        plant(world, contract, pc.Value(3_000_000), datum=42),  # junk datum
        plant(world, contract, pc.Value(2_000_000, pc.MultiAsset.from_primitive({world.policy: {b"JUNK": 7}}))),
        plant(world, contract, pc.Value(1_000_000)),  # dust, no datum
        plant(world, contract, grant(world, 600, m1_pot.amount.coin), datum=m1_pot.datum),  # forged copy
    ]
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations if a.milestone == "m1"))  # type: ignore[union-attr]

    def plant_during(phase: str) -> None:
        if phase == "built":
            planted.append(plant(world, contract, pc.Value(1_500_000), datum=7))

    before = [world.tokens_of(b) for b in world.beneficiaries]
    engine = Engine(world.context(tmp_path / "fresh"), on_phase=plant_during)
    found = list(engine.run([world.release_step(contract)]))
    assert names(found).count("Confirmed") == 1 and "StepFinished" in names(found)
    ignored = {e.what: e.reason for e in found if e.name == "Ignored"}  # type: ignore[attr-defined]
    for ref in planted[:4]:
        assert f"{ref.transaction_id.payload.hex()}#{ref.index}" in ignored
    forged = planted[3]
    assert "register transactions" in ignored[f"{forged.transaction_id.payload.hex()}#{forged.index}"], ignored
    after = [world.tokens_of(b) for b in world.beneficiaries]
    assert [a - b for a, b in zip(after, before, strict=True)] == [100, 200, 300]
    left = {pc.TransactionInput(i.transaction_id, i.index) for i, _ in world.ledger.utxos_at(contract)}
    assert set(planted) <= left  # the junk stays for the owner's reclaim
    again = list(Engine(world.context(tmp_path / "fresh")).run([world.release_step(contract)]))
    assert "Submitted" not in names(again)
