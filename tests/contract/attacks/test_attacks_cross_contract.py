"""Cross-contract double satisfaction (issue 6 §1), on the full devnet ledger.

Two honest third-party contracts (``attack_third_party``: a buy order tagging its payment
with an inline datum = its own output reference, an escrow tagging it with a datum hash of
it) pay the same beneficiary as a pot entry.  The attacker releases the pot AND spends the
order/escrow in one transaction and tries to make ONE output count for both, in every
arrangement: the output tagged, untagged, first or last, both third-party contracts at
once.  Each is refused; the honest twin (one output per obligation) is accepted.  In
contract v1 the untagged-release/tagged-order arrangement passed: the release accepted an
output with any datum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cbor2
import pycardano as pc
import pytest

from runner.devnet.ledger.ledger import Ledger
from runner.testing.attack_kit import (
    ALLOCATION_LOVELACE,
    MILESTONES,
    TOKEN_NAME,
    Draft,
    World,
    address,
    build_world,
    payments,
    release,
)
from runner.testing.attack_third_party import escrow_tag, out_ref_data, script, terms

M1 = MILESTONES[0]
ORDER_REWARD = 50_000_000
UNIT_REDEEMER = pc.RawPlutusData(cbor2.CBORTag(121, []))


@pytest.fixture(scope="module")
def world(ledger_factory: Callable[..., Ledger]) -> World:
    w = build_world(ledger_factory(wallets=("alice",)), expiry_ms=10**16)
    for kind in ("order", "escrow"):
        holder = pc.TransactionOutput(address("third party deployer"), 30_000_000, script=script(kind))
        w.garbage[kind] = _deploy(w, holder)  # the contracts as reference scripts
    return w


def _deploy(world: World, holder: pc.TransactionOutput) -> pc.TransactionInput:
    tx = world.kit.finish(Draft(inputs=world.kit.payer_utxos()[:1], outputs=[holder], signers=[world.kit.payer]))
    world.kit.submit(tx)
    return pc.TransactionInput(tx.id, 0)


@dataclass
class Obligation:
    kind: str
    ref: pc.TransactionInput  # the order/escrow UTxO


def _open(world: World, kind: str, payee: pc.Address, amount: int) -> Obligation:
    """An honest order (50 ADA for delivering ``amount`` tokens to ``payee``) or escrow
    (``amount`` tokens held for ``payee``), locked with real assets."""
    home = pc.Address(pc.ScriptHash(pc.plutus_script_hash(script(kind)).payload), network=pc.Network.TESTNET)
    datum = terms(payee, world.token_policy, TOKEN_NAME, amount)
    value = pc.Value(ORDER_REWARD) if kind == "order" else world.tokens(amount, 5_000_000)
    return Obligation(kind, world.lock(home, value, datum))


def _tag(ob: Obligation) -> dict[str, object]:
    if ob.kind == "order":
        return {"datum": out_ref_data(ob.ref)}
    return {"datum_hash": pc.DatumHash(escrow_tag(ob.ref))}


def _combined(world: World, obligations: list[Obligation], outputs: list[pc.TransactionOutput]) -> Draft:
    """Release the m1 pot and spend the obligations in one transaction with ``outputs``."""
    draft = release(world, [world.schedule.find(0, M1)], outputs=outputs)
    for ob in obligations:
        draft.inputs.insert(0, ob.ref)
        draft.spend[ob.ref] = UNIT_REDEEMER
        draft.reference_inputs.append(world.garbage[ob.kind])
    return draft


def _first(world: World) -> tuple[pc.Address, int, list[pc.TransactionOutput]]:
    """The pot's first entry (beneficiary, amount) and the honest release outputs."""
    outputs = payments(world, world.schedule.pots[world.schedule.find(0, M1).ref])
    entry = outputs[0]
    amount = entry.amount.multi_asset[pc.ScriptHash(world.token_policy)][pc.AssetName(TOKEN_NAME)]
    return entry.address, amount, outputs


def _paid(world: World, payee: pc.Address, amount: int, **tag: object) -> pc.TransactionOutput:
    return pc.TransactionOutput(payee, world.tokens(amount, ALLOCATION_LOVELACE), **tag)


def refused(world: World, draft: Draft, purposes: set[str]) -> None:
    err = world.kit.rejected(world.kit.finish(draft), 3010)
    failed = {f["validator"]["purpose"] for f in err.data}
    assert failed & purposes, f"expected a failure of {purposes}, got {failed}"


@pytest.mark.parametrize("kind", ["order", "escrow"])
def test_one_tagged_output_cannot_release_an_entry_and_satisfy_a_tagged_contract(world: World, kind: str) -> None:
    payee, amount, outputs = _first(world)
    ob = _open(world, kind, payee, amount)
    tagged = [_paid(world, payee, amount, **_tag(ob)), *outputs[1:]]
    refused(world, _combined(world, [ob], tagged), {"withdraw"})  # the pot fixes the datum: none
    untagged = list(outputs)
    refused(world, _combined(world, [ob], untagged), {"spend"})  # the third party wants its tag
    twin = [*outputs, _paid(world, payee, amount, **_tag(ob))]  # one output per obligation
    world.kit.accepted(world.kit.finish(_combined(world, [ob], twin)))


@pytest.mark.parametrize("kind", ["order", "escrow"])
def test_the_tagged_payment_placed_first_does_not_count_as_the_release(world: World, kind: str) -> None:
    payee, amount, outputs = _first(world)
    ob = _open(world, kind, payee, amount)
    refused(world, _combined(world, [ob], [_paid(world, payee, amount, **_tag(ob)), *outputs[1:]]), {"withdraw"})
    refused(world, _combined(world, [ob], [_paid(world, payee, amount, **_tag(ob)), *outputs]), {"withdraw"})
    world.kit.accepted(world.kit.finish(_combined(world, [ob], [*outputs, _paid(world, payee, amount, **_tag(ob))])))


def test_an_order_and_an_escrow_and_a_release_with_one_output(world: World) -> None:
    payee, amount, outputs = _first(world)
    order, escrow = _open(world, "order", payee, amount), _open(world, "escrow", payee, amount)
    for first in (outputs[0], _paid(world, payee, amount, **_tag(order)), _paid(world, payee, amount, **_tag(escrow))):
        refused(world, _combined(world, [order, escrow], [first, *outputs[1:]]), {"withdraw", "spend"})
    twin = [*outputs, _paid(world, payee, amount, **_tag(order)), _paid(world, payee, amount, **_tag(escrow))]
    world.kit.accepted(world.kit.finish(_combined(world, [order, escrow], twin)))


def test_two_orders_cannot_share_one_payment_either(world: World) -> None:
    """The third party's own defence works (so the suite's contracts really are honest)."""
    payee, amount, _ = _first(world)
    a, b = _open(world, "order", payee, amount), _open(world, "order", payee, amount)
    draft = Draft(inputs=[a.ref, b.ref, *world.kit.payer_utxos()[:1]],
                  outputs=[_paid(world, payee, amount, **_tag(a))],
                  reference_inputs=[world.garbage["order"]], signers=[world.kit.payer],
                  spend={a.ref: UNIT_REDEEMER, b.ref: UNIT_REDEEMER},
                  change_address=address("mallory"))
    draft.inputs += world.token_utxos()
    err = world.kit.rejected(world.kit.finish(draft), 3010)
    assert {f["validator"]["purpose"] for f in err.data} == {"spend"}
    draft.outputs.append(_paid(world, payee, amount, **_tag(b)))
    world.kit.accepted(world.kit.finish(draft))
