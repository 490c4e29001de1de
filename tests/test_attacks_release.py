"""Attacks on RELEASE, submitted to the full devnet ledger (phase 1 + phase 2).

Each test builds the honest transaction and the attack that differs from it in one
rule; the attack must be rejected with the exact code (3010 naming the failing
validator, or the phase-1 code) leaving the UTxO set untouched, and the honest twin
must then be accepted by the same ledger, so no test passes by rejecting everything.
"""

from __future__ import annotations

from collections.abc import Callable

import cbor2
import pycardano as pc
import pytest
from attack_kit import (
    ALLOCATION_LOVELACE,
    LATE,
    MILESTONES,
    TOKEN_NAME,
    UNCERTIFIED,
    Allocation,
    Draft,
    World,
    address,
    beneficiary,
    build_world,
    fresh,  # noqa: F401  (autouse fixture: each test's blocks are rolled back after it)
    release,
)

from runner.chain.devnet.ledger import Ledger
from runner.contract.datums import AllocationDatum, to_plutus_address

M1, M2 = MILESTONES[0], MILESTONES[1]
MALLORY = address("mallory")


@pytest.fixture(scope="module")
def world(ledger_factory: Callable[..., Ledger]) -> World:
    return build_world(ledger_factory(wallets=("alice",)), expiry_ms=10**16)



def refused(world: World, draft: Draft, code: int = 3010, purpose: str | None = "withdraw",
            trace: str | None = None) -> None:
    world.kit.rejected(world.kit.finish(draft), code, purpose if code == 3010 else None, trace)


def accepted(world: World, draft: Draft) -> pc.Transaction:
    tx = world.kit.finish(draft)
    world.kit.accepted(tx)
    return tx


def pay(world: World, to: pc.Address, amount: int, lovelace: int = ALLOCATION_LOVELACE) -> pc.TransactionOutput:
    return pc.TransactionOutput(to, world.tokens(amount, lovelace))


def a(world: World, b: int, m: bytes = M1) -> Allocation:
    return world.schedule.find(b, m)


# ----------------------------------------------------------------------- time


def test_release_one_slot_before_vesting_is_refused_and_at_vesting_accepted(world: World) -> None:
    vesting_slot = world.slot_of(world.vesting_ms)
    assert world.now_slot() > vesting_slot
    refused(world, release(world, [a(world, 0)], validity_start=vesting_slot - 1), trace="not vested")
    accepted(world, release(world, [a(world, 0)], validity_start=vesting_slot))


def test_release_of_an_allocation_vesting_in_the_future(world: World) -> None:
    late = a(world, 0, LATE)
    assert world.slot_of(late.vesting_ms) > world.now_slot()
    refused(world, release(world, [late]), trace="not vested")  # lower bound = now
    # claiming a lower bound at the vesting time is a phase-1 error: the slot has not come
    refused(world, release(world, [late], validity_start=world.slot_of(late.vesting_ms)), code=3118)
    accepted(world, release(world, [a(world, 0)]))


def test_release_without_a_lower_bound_is_refused(world: World) -> None:
    refused(world, release(world, [a(world, 1)], validity_start=None), trace="lower bound")
    accepted(world, release(world, [a(world, 1)]))


def test_release_with_a_manipulated_interval(world: World) -> None:
    allocation = a(world, 2)
    vesting_slot = world.slot_of(world.vesting_ms)
    wide = release(world, [allocation], validity_start=vesting_slot - 5)
    wide.ttl = world.now_slot() + 1000  # the interval contains "now", but starts before vesting
    refused(world, wide, trace="not vested")
    future = release(world, [allocation], validity_start=world.now_slot() + 100)
    refused(world, future, code=3118)
    honest = release(world, [allocation])
    honest.ttl = world.now_slot() + 1000
    accepted(world, honest)


# ----------------------------------------------------------------------- certificates


def test_release_without_a_certificate(world: World) -> None:
    refused(world, release(world, [a(world, 0)], certificates=[]), trace="not certified")
    never = a(world, 0, UNCERTIFIED)
    refused(world, release(world, [never], certificates=[]), trace="not certified")
    accepted(world, release(world, [a(world, 0)]))


def test_release_with_the_certificate_of_another_milestone(world: World) -> None:
    refused(world, release(world, [a(world, 0)], certificates=[M2]), trace="not certified")
    both = release(world, [a(world, 0), a(world, 0, M2)], certificates=[M1])
    refused(world, both, trace="not certified")
    accepted(world, release(world, [a(world, 0), a(world, 0, M2)]))


def test_release_with_the_certificate_of_another_schedule(world: World) -> None:
    draft = release(world, [a(world, 0)], certificates=[])
    draft.reference_inputs.append(world.other.certificates[M1])  # same milestone id, other policy
    refused(world, draft, trace="not certified")
    accepted(world, release(world, [a(world, 0)]))


def test_release_with_a_fake_token_named_like_the_milestone(world: World) -> None:
    # a token "m1" minted under another policy (the faucet's), parked at the certificate address
    fake = world.ledger.fund(world.schedule.certificate_address, 2_000_000, {M1: 1})
    height_with_fake = world.ledger.tip.height
    draft = release(world, [a(world, 0)], certificates=[])
    draft.reference_inputs.append(fake)
    refused(world, draft, trace="not certified")
    assert world.ledger.tip.height == height_with_fake
    accepted(world, release(world, [a(world, 0)]))


# ----------------------------------------------------------------------- payment


@pytest.mark.parametrize(
    "to",
    [MALLORY, address("beneficiary 0"), address("beneficiary 0", "mallory stake")],
    ids=["wrong-beneficiary", "stake-credential-dropped", "other-stake-credential"],
)
def test_release_must_pay_the_exact_beneficiary_address(world: World, to: pc.Address) -> None:
    allocation = a(world, 0)
    assert allocation.beneficiary.staking_part is not None
    refused(world, release(world, [allocation], outputs=[pay(world, to, allocation.amount)]))
    accepted(world, release(world, [allocation], outputs=[pay(world, allocation.beneficiary, allocation.amount)]))


def test_release_paying_too_few_tokens(world: World) -> None:
    allocation = a(world, 1)
    short = release(world, [allocation], outputs=[pay(world, allocation.beneficiary, allocation.amount - 1)])
    refused(world, short, trace="too few tokens")  # the missing token goes to the submitter's change
    accepted(world, release(world, [allocation], outputs=[pay(world, allocation.beneficiary, allocation.amount)]))


def test_release_stealing_the_allocations_leftover_ada(world: World) -> None:
    allocation = a(world, 3)
    for lovelace in (1_500_000, ALLOCATION_LOVELACE - 1):  # min-UTxO-ish, and one lovelace short
        stingy = pay(world, allocation.beneficiary, allocation.amount, lovelace)
        refused(world, release(world, [allocation], outputs=[stingy]), trace="allocation ADA")
    accepted(world, release(world, [allocation]))


def test_two_ungrouped_allocations_of_one_beneficiary_cannot_share_one_output(world: World) -> None:
    """(b0, m1), (b1, m1), (b0, m2) in input order: b0 forms two groups, each needs its output."""
    b0m1, b1m1, b0m2 = a(world, 0, M1), a(world, 1, M1), a(world, 0, M2)
    b0, b1 = b0m1.beneficiary, b1m1.beneficiary
    one_output = [pay(world, b0, b0m1.amount + b0m2.amount, 2 * ALLOCATION_LOVELACE), pay(world, b1, b1m1.amount)]
    refused(world, release(world, [b0m1, b1m1, b0m2], outputs=one_output))
    # double satisfaction proper: one output big enough for either allocation, counted twice
    twice = [pay(world, b0, max(b0m1.amount, b0m2.amount)), pay(world, b1, b1m1.amount)]
    refused(world, release(world, [b0m1, b1m1, b0m2], outputs=twice))
    accepted(world, release(world, [b0m1, b1m1, b0m2]))  # three outputs: b0, b1, b0


def test_grouped_allocations_of_one_beneficiary_need_their_sum(world: World) -> None:
    b0m1, b0m2 = a(world, 0, M1), a(world, 0, M2)
    b0 = b0m1.beneficiary
    one_paid = [pay(world, b0, max(b0m1.amount, b0m2.amount), 2 * ALLOCATION_LOVELACE)]
    refused(world, release(world, [b0m1, b0m2], outputs=one_paid), trace="too few tokens")
    accepted(world, release(world, [b0m1, b0m2]))  # one output with the sum


def test_allocations_of_two_beneficiaries_cannot_be_paid_by_one_output(world: World) -> None:
    b0m1, b1m1 = a(world, 0), a(world, 1)
    merged = [pay(world, b0m1.beneficiary, b0m1.amount + b1m1.amount, 2 * ALLOCATION_LOVELACE)]
    refused(world, release(world, [b0m1, b1m1], outputs=merged))
    accepted(world, release(world, [b0m1, b1m1]))


# ----------------------------------------------------------------------- the batch must run


def test_spending_an_allocation_without_the_batch_withdrawal(world: World) -> None:
    draft = release(world, [a(world, 0)])
    draft.withdrawals, draft.withdraws = {}, {}
    draft.outputs = [pay(world, MALLORY, a(world, 0).amount)]
    refused(world, draft, purpose="spend")  # no withdrawal at all: the forwarder's head_list fails
    accepted(world, release(world, [a(world, 0)]))


def test_spending_an_allocation_with_another_schedules_batch_withdrawal(world: World) -> None:
    other = world.other
    draft = release(world, [a(world, 0)])
    draft.withdrawals = {other.reward_account: 0}
    draft.withdraws = {other.reward_account: draft.withdraws.popitem()[1]}
    draft.reference_inputs[1] = other.script_refs["batch_release"]
    draft.outputs = [pay(world, MALLORY, a(world, 0).amount)]
    err = world.kit.rejected(world.kit.finish(draft), 3010, "spend")
    assert {f["validator"]["purpose"] for f in err.data} == {"spend"}, "the other batch itself passes"
    accepted(world, release(world, [a(world, 0)]))


# ----------------------------------------------------------------------- malformed allocations


def _lock(world: World, datum: object, tokens: int = 0) -> pc.TransactionInput:
    """Anyone can send a UTxO with any datum to the allocation address."""
    value = world.tokens(tokens, 5_000_000) if tokens else pc.Value(5_000_000)
    out = pc.TransactionOutput(world.schedule.allocation_address, value, datum=datum)
    tx = world.kit.finish(Draft(inputs=world.kit.payer_utxos()[:1], outputs=[out], signers=[world.kit.payer]))
    world.kit.submit(tx)
    return pc.TransactionInput(tx.id, 0)


def _constr0(*fields: object) -> pc.RawPlutusData:
    return pc.RawPlutusData(cbor2.CBORTag(121, list(fields)))


def _b0() -> object:
    return cbor2.loads(to_plutus_address(beneficiary(0)).to_cbor())


#: allocation datums a careless owner or an attacker could lock at the allocation address
MALFORMED = {
    "amount-as-bytes": lambda w: _constr0(_b0(), b"100", M1, w.vesting_ms),
    "vesting-as-bytes": lambda w: _constr0(_b0(), 100, M1, b"0"),
    "milestone-as-integer": lambda w: _constr0(_b0(), 100, 1, w.vesting_ms),
    "empty-milestone-id": lambda w: _constr0(_b0(), 100, b"", w.vesting_ms),
    "beneficiary-as-integer": lambda w: _constr0(0, 100, M1, w.vesting_ms),
    "too-few-fields": lambda w: _constr0(_b0(), 100),
    "not-a-constructor": lambda w: 42,
}


@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_allocation_with_an_ill_typed_datum(world: World, shape: str) -> None:
    """It cannot ride out with an honest release, nor be released itself (only reclaimed)."""
    bad = _lock(world, MALFORMED[shape](world), tokens=100)
    honest = a(world, 0)
    with_bad = release(world, [honest])
    with_bad.inputs.insert(0, bad)
    with_bad.spend[bad] = with_bad.spend[honest.ref]
    with_bad.outputs.append(pay(world, MALLORY, 100, 5_000_000))
    refused(world, with_bad)
    alone = release(world, [honest])
    alone.inputs = [bad, *alone.inputs[1:]]
    alone.spend = {bad: alone.spend[honest.ref]}
    alone.outputs = [pay(world, honest.beneficiary, 100, 5_000_000)]  # even paid as the datum seems to ask
    refused(world, alone)
    accepted(world, release(world, [honest]))


def test_allocation_without_a_datum_is_not_releasable(world: World) -> None:
    bare = _lock(world, None)
    draft = release(world, [a(world, 0)])
    draft.inputs.insert(0, bare)
    draft.spend[bare] = draft.spend[a(world, 0).ref]
    refused(world, draft)
    accepted(world, release(world, [a(world, 0)]))


def test_a_negative_allocation_cannot_cancel_a_real_one_in_its_group(world: World) -> None:
    honest = a(world, 0)
    forged = AllocationDatum(to_plutus_address(honest.beneficiary), -honest.amount + 1, M1, world.vesting_ms)
    minus = _lock(world, forged)
    draft = release(world, [honest])
    draft.inputs.insert(0, minus)  # same tx id order is irrelevant: both are b0's -> one group
    draft.spend[minus] = draft.spend[honest.ref]
    draft.outputs = [pay(world, honest.beneficiary, 1, ALLOCATION_LOVELACE + 5_000_000)]
    refused(world, draft, trace="negative amount")
    accepted(world, release(world, [honest]))


def test_a_released_allocation_cannot_be_released_again(world: World) -> None:
    allocation = a(world, 4)
    accepted(world, release(world, [allocation]))
    again = release(world, [allocation])
    refused(world, again, code=3117)


# ----------------------------------------------------------------------- batch


def test_twenty_allocations_of_five_beneficiaries_and_four_milestones_in_one_transaction(world: World) -> None:
    allocations = [a(world, b, m) for m in MILESTONES for b in range(5)]
    tx = accepted(world, release(world, allocations))
    fee = tx.transaction_body.fee
    units = [r.ex_units for r in tx.transaction_witness_set.redeemer]
    mem, steps = sum(u.mem for u in units), sum(u.steps for u in units)
    figures = (f"20 releases: fee {fee / 1e6:.4f} ADA ({fee / 20e6:.4f}/release), memory {mem}, steps {steps}, "
               f"{len(tx.to_cbor())} bytes")
    p = world.ledger.params
    assert mem <= p.max_tx_ex_mem and steps <= p.max_tx_ex_steps and len(tx.to_cbor()) <= p.max_tx_size, figures
    for allocation in allocations:
        assert allocation.ref not in world.ledger.utxo, figures
    for b in range(5):
        expected = sum(x.amount for x in allocations if x.beneficiary == beneficiary(b))
        total = sum(o.amount.multi_asset[pc.ScriptHash(world.token_policy)][pc.AssetName(TOKEN_NAME)]
                    for o in tx.transaction_body.outputs if o.address == beneficiary(b))
        assert total == expected, figures
    print(figures)


def test_one_output_cannot_pay_allocations_of_two_schedules(world: World) -> None:
    """Cross-schedule double satisfaction: each batch would count the same output for b0,
    so a forwarder insists its own batch is the transaction's first withdrawal."""
    mine, theirs = a(world, 0), world.other.allocations[0]
    assert mine.beneficiary == theirs.beneficiary and mine.amount == theirs.amount
    draft = release(world, [mine], outputs=[pay(world, mine.beneficiary, mine.amount)])
    other = release(world, [theirs], schedule=world.other)
    draft.inputs = [mine.ref, theirs.ref, *draft.inputs[1:]]
    draft.spend[theirs.ref] = other.spend[theirs.ref]
    draft.withdrawals |= other.withdrawals
    draft.withdraws |= other.withdraws
    draft.reference_inputs += other.reference_inputs
    err = world.kit.rejected(world.kit.finish(draft), 3010, "spend")
    assert {f["validator"]["purpose"] for f in err.data} == {"spend"}, "both batches pass; a forwarder refuses"
    accepted(world, release(world, [mine]))
    accepted(world, release(world, [theirs], schedule=world.other))


def test_an_allocation_at_the_forwarder_with_a_stake_credential_is_still_checked(world: World) -> None:
    """The batch covers every input whose PAYMENT credential is the forwarder's."""
    home = world.schedule.allocation_address
    staked = pc.Address(home.payment_part, address("x", "mallory stake").staking_part, network=home.network)
    datum = AllocationDatum(to_plutus_address(beneficiary(1)), 100, M1, world.vesting_ms)
    tx = world.kit.finish(Draft(inputs=world.kit.payer_utxos()[:1], signers=[world.kit.payer],
                                outputs=[pc.TransactionOutput(staked, world.tokens(100), datum=datum)]))
    world.kit.submit(tx)
    locked = Allocation(pc.TransactionInput(tx.id, 0), beneficiary(1), 100, M1, world.vesting_ms)
    refused(world, release(world, [locked], outputs=[pay(world, MALLORY, 100)]))
    accepted(world, release(world, [locked]))


def test_the_kits_fee_is_the_exact_minimum(world: World) -> None:
    """So that every accepted twin above is a transaction a wallet could really submit."""
    draft = release(world, [a(world, 2)])
    tx = world.kit.finish(draft)
    short = world.kit.finish(draft, fee=tx.transaction_body.fee - 1)
    assert len(short.to_cbor()) == len(tx.to_cbor())
    world.kit.rejected(short, 3122)
    world.kit.accepted(tx)
