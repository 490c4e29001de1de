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

from runner.contract.datums import Forward, NoOutputDatum, PotDatum, to_plutus_address
from runner.devnet.ledger.ledger import Ledger
from runner.testing.attack_kit import (
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
    payments,
    pot_datum,
    release,
)

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


def honest(world: World, refs: list[pc.TransactionInput]) -> list[pc.TransactionOutput]:
    return [o for r in sorted(refs, key=lambda r: (r.transaction_id.payload, r.index))
            for o in payments(world, world.schedule.pots[r])]


def position(world: World, allocation: Allocation) -> int:
    """Where the entry of ``allocation`` is paid in the honest release of its pot alone."""
    return [o.address for o in honest(world, [allocation.ref])].index(allocation.beneficiary)


def replaced(world: World, allocation: Allocation, output: pc.TransactionOutput) -> list[pc.TransactionOutput]:
    outputs = honest(world, [allocation.ref])
    outputs[position(world, allocation)] = output
    return outputs


@pytest.mark.parametrize(
    "to",
    [MALLORY, address("beneficiary 0"), address("beneficiary 0", "mallory stake")],
    ids=["wrong-beneficiary", "stake-credential-dropped", "other-stake-credential"],
)
def test_release_must_pay_the_exact_beneficiary_address(world: World, to: pc.Address) -> None:
    allocation = a(world, 0)
    assert allocation.beneficiary.staking_part is not None
    refused(world, release(world, [allocation], outputs=replaced(world, allocation, pay(world, to, allocation.amount))))
    accepted(world, release(world, [allocation], outputs=honest(world, [allocation.ref])))


@pytest.mark.parametrize("delta", [-1, 1], ids=["too-few", "too-many"])
def test_release_must_pay_exactly_the_entrys_tokens(world: World, delta: int) -> None:
    allocation = a(world, 1)
    wrong = pay(world, allocation.beneficiary, allocation.amount + delta)
    refused(world, release(world, [allocation], outputs=replaced(world, allocation, wrong)))
    accepted(world, release(world, [allocation]))


def test_release_stealing_the_pots_ada(world: World) -> None:
    allocation = a(world, 3)
    stingy = pay(world, allocation.beneficiary, allocation.amount, ALLOCATION_LOVELACE - 1)
    refused(world, release(world, [allocation], outputs=replaced(world, allocation, stingy)))
    accepted(world, release(world, [allocation]))


def test_an_entry_left_unpaid(world: World) -> None:
    outputs = honest(world, [a(world, 0).ref])
    for i in (0, len(outputs) - 1):
        refused(world, release(world, [a(world, 0)], outputs=outputs[:i] + outputs[i + 1:]))
    accepted(world, release(world, [a(world, 0)]))


def test_outputs_out_of_order(world: World) -> None:
    outputs = honest(world, [a(world, 0).ref])
    refused(world, release(world, [a(world, 0)], outputs=outputs[1:] + outputs[:1]))
    refused(world, release(world, [a(world, 0)], outputs=list(reversed(outputs))))
    accepted(world, release(world, [a(world, 0)], outputs=outputs))


def test_a_foreign_output_between_entries(world: World) -> None:
    outputs = honest(world, [a(world, 0).ref])
    foreign = pc.TransactionOutput(MALLORY, 2_000_000)
    refused(world, release(world, [a(world, 0)], outputs=outputs[:2] + [foreign] + outputs[2:]))
    refused(world, release(world, [a(world, 0)], outputs=[foreign, *outputs]))
    accepted(world, release(world, [a(world, 0)], outputs=[*outputs, foreign]))  # after the last entry


def test_two_pots_cannot_share_outputs(world: World) -> None:
    """Two pots released together: the second one's entries need their own outputs."""
    m1, m2 = a(world, 0, M1), a(world, 0, M2)
    refused(world, release(world, [m1, m2], outputs=honest(world, [m1.ref])))
    accepted(world, release(world, [m1, m2]))


def test_two_identical_pots_paid_by_one_set_of_outputs(world: World) -> None:
    """A second UTxO with the same datum and tokens (real tokens, locked by anyone)."""
    original = a(world, 0).ref
    datum = world.schedule.pots[original]
    copy = world.lock(world.schedule.allocation_address, world.kit.resolve(original).amount, datum)
    world.schedule.pots[copy] = datum
    try:
        refused(world, release(world, [original, copy], outputs=honest(world, [original])))
        accepted(world, release(world, [original, copy]))  # two sets of outputs: both pots paid
    finally:
        del world.schedule.pots[copy]


# ----------------------------------------------------------------------- the batch must run


def test_spending_a_pot_without_the_batch_withdrawal(world: World) -> None:
    draft = release(world, [a(world, 0)])
    draft.withdrawals, draft.withdraws = {}, {}
    draft.outputs = [pay(world, MALLORY, 1)]
    refused(world, draft, purpose="spend")  # no withdrawal at all: the forwarder's head_list fails
    accepted(world, release(world, [a(world, 0)]))


def test_spending_a_pot_with_another_schedules_batch_withdrawal(world: World) -> None:
    other = world.other
    draft = release(world, [a(world, 0)])
    draft.withdrawals = {other.reward_account: 0}
    draft.withdraws = {other.reward_account: draft.withdraws.popitem()[1]}
    draft.reference_inputs[1] = other.script_refs["batch_release"]
    draft.outputs = [pay(world, MALLORY, 1)]
    err = world.kit.rejected(world.kit.finish(draft), 3010, "spend")
    assert {f["validator"]["purpose"] for f in err.data} == {"spend"}, "the other batch itself passes"
    accepted(world, release(world, [a(world, 0)]))


# ----------------------------------------------------------------------- forged and malformed pots


def _lock(world: World, datum: object, tokens: int = 0, lovelace: int = 5_000_000,
          at: pc.Address | None = None) -> pc.TransactionInput:
    """Anyone can send a UTxO with any datum to the pot address (with real tokens)."""
    value = world.tokens(tokens, lovelace) if tokens else pc.Value(lovelace)
    return world.lock(at or world.schedule.allocation_address, value, datum)


def _constr(tag: int, *fields: object) -> pc.RawPlutusData:
    return pc.RawPlutusData(cbor2.CBORTag(121 + tag, list(fields)))


def _b0() -> object:
    return cbor2.loads(to_plutus_address(beneficiary(0)).to_cbor())


def _entries(amount: object = 100) -> list[object]:
    return [_constr(0, _b0(), amount)]


NO_DATUM = cbor2.CBORTag(121, [])

#: pot datums a careless owner or an attacker could lock at the pot address
MALFORMED = {
    "amount-as-bytes": lambda w: _constr(0, M1, w.vesting_ms, _entries(b"100"), NO_DATUM),
    "vesting-as-bytes": lambda w: _constr(0, M1, b"0", _entries(), NO_DATUM),
    "milestone-as-integer": lambda w: _constr(0, 1, w.vesting_ms, _entries(), NO_DATUM),
    "empty-milestone-id": lambda w: _constr(0, b"", w.vesting_ms, _entries(), NO_DATUM),
    "beneficiary-as-integer": lambda w: _constr(0, M1, w.vesting_ms, [_constr(0, 0, 100)], NO_DATUM),
    "entries-as-a-map": lambda w: pc.RawPlutusData(cbor2.CBORTag(121, [M1, w.vesting_ms, {1: 2}, NO_DATUM])),
    "too-few-fields": lambda w: _constr(0, M1, w.vesting_ms),
    "not-a-constructor": lambda w: 42,
}


@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_pot_with_an_ill_typed_datum(world: World, shape: str) -> None:
    """It cannot ride out with an honest release, nor be released itself (only reclaimed)."""
    bad = _lock(world, MALFORMED[shape](world), tokens=100)
    honest_pot = a(world, 0).ref
    with_bad = release(world, [honest_pot])
    with_bad.inputs.insert(0, bad)
    with_bad.spend[bad] = Forward()
    with_bad.outputs.append(pay(world, MALLORY, 100, 5_000_000))
    refused(world, with_bad)
    alone = release(world, [honest_pot])
    alone.inputs = [bad, *alone.inputs[1:]]
    alone.spend = {bad: Forward()}
    alone.outputs = [pay(world, beneficiary(0), 100, 5_000_000)]  # even paid as the datum seems to ask
    refused(world, alone)
    accepted(world, release(world, [honest_pot]))


def test_pot_without_a_datum_is_not_releasable(world: World) -> None:
    bare = _lock(world, None)
    draft = release(world, [a(world, 0)])
    draft.inputs.insert(0, bare)
    draft.spend[bare] = Forward()
    refused(world, draft)
    accepted(world, release(world, [a(world, 0)]))


def _forged(world: World, datum: PotDatum, tokens: int, lovelace: int | None = None) -> pc.TransactionInput:
    ref = _lock(world, datum, tokens, lovelace or ALLOCATION_LOVELACE * len(datum.entries))
    world.schedule.pots[ref] = datum
    return ref


@pytest.mark.parametrize("held", [99, 101, 0], ids=["short", "surplus", "empty"])
def test_a_pot_whose_tokens_do_not_match_its_entries(world: World, held: int) -> None:
    """The releaser must not keep a surplus, nor pay entries from a short pot (with its own tokens)."""
    datum = pot_datum([(beneficiary(0), 60), (beneficiary(1), 40)], M1, world.vesting_ms)
    forged = _forged(world, datum, held) if held else _lock(world, datum)
    world.schedule.pots[forged] = datum
    twin = _forged(world, datum, 100)
    try:
        refused(world, release(world, [forged]))
        accepted(world, release(world, [twin]))
    finally:
        del world.schedule.pots[forged], world.schedule.pots[twin]


def test_a_pot_with_duplicate_keys(world: World) -> None:
    entry = pot_datum([(beneficiary(0), 50)], M1, world.vesting_ms).entries[0]
    duplicated = PotDatum(M1, world.vesting_ms, [entry, entry], NoOutputDatum())
    merged = pot_datum([(beneficiary(0), 100)], M1, world.vesting_ms)
    forged, twin = _forged(world, duplicated, 100), _forged(world, merged, 100)
    try:
        refused(world, release(world, [forged]))
        accepted(world, release(world, [twin]))
    finally:
        del world.schedule.pots[forged], world.schedule.pots[twin]


def test_a_negative_entry_cannot_cancel_a_real_one(world: World) -> None:
    d = pot_datum([(beneficiary(0), 100), (beneficiary(1), -99)], M1, world.vesting_ms)
    forged = _forged(world, d, 1)
    try:
        draft = release(world, [forged], outputs=[pay(world, beneficiary(0), 100), pay(world, beneficiary(1), 1)])
        refused(world, draft)
    finally:
        del world.schedule.pots[forged]
    accepted(world, release(world, [a(world, 0)]))


def test_a_huge_pot_cannot_be_paid_in_part(world: World) -> None:
    """250 entries (real tokens): too many outputs for one transaction; paying a part is refused."""
    bens = [address(f"crowd {i}") for i in range(250)]
    d = pot_datum([(b, 1) for b in bens], M1, world.vesting_ms)
    forged = _forged(world, d, 250)
    try:
        part = payments(world, d)[:100]
        refused(world, release(world, [forged], outputs=part))
    finally:
        del world.schedule.pots[forged]
    accepted(world, release(world, [a(world, 0)]))


def test_a_pot_at_the_forwarder_with_a_stake_credential_is_still_checked(world: World) -> None:
    """Pot at the wrong address: the batch covers every input whose PAYMENT credential is the forwarder's."""
    home = world.schedule.allocation_address
    staked = pc.Address(home.payment_part, address("x", "mallory stake").staking_part, network=home.network)
    d = pot_datum([(beneficiary(1), 100)], M1, world.vesting_ms)
    ref = world.lock(staked, world.tokens(100), d)
    world.schedule.pots[ref] = d
    try:
        refused(world, release(world, [ref], outputs=[pay(world, MALLORY, 100)]))
        accepted(world, release(world, [ref]))
    finally:
        del world.schedule.pots[ref]


def test_a_pot_at_another_schedules_address_needs_that_schedules_certificate(world: World) -> None:
    """The other schedule has no certificate for m2: our m2 certificate does not count there."""
    other = world.other
    d = pot_datum([(beneficiary(1), 100)], M2, world.vesting_ms)
    ref = world.lock(other.allocation_address, world.tokens(100), d)
    other.pots[ref] = d
    try:
        draft = release(world, [ref], schedule=other, certificates=[])
        draft.reference_inputs.append(world.schedule.certificates[M2])
        refused(world, draft)
    finally:
        del other.pots[ref]
    accepted(world, release(world, [a(world, 0, M2)]))


def test_a_released_pot_cannot_be_released_again(world: World) -> None:
    allocation = a(world, 4)
    accepted(world, release(world, [allocation]))
    refused(world, release(world, [allocation]), code=3117)


# ----------------------------------------------------------------------- batch


def test_four_pots_of_five_beneficiaries_in_one_transaction(world: World) -> None:
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


def test_one_output_cannot_pay_pots_of_two_schedules(world: World) -> None:
    """Cross-schedule double satisfaction: each batch would count the same output for the
    same entry, so a forwarder insists its own batch is the transaction's first withdrawal."""
    theirs = world.other.allocations[0]
    mine = a(world, 0)
    draft = release(world, [mine])
    first = draft.outputs[0]
    assert first.address == theirs.beneficiary
    assert first.amount.multi_asset == world.tokens(theirs.amount).multi_asset
    other = release(world, [theirs], schedule=world.other)
    draft.inputs = [mine.ref, theirs.ref, *draft.inputs[1:]]
    draft.spend[theirs.ref] = other.spend[theirs.ref]
    draft.withdrawals |= other.withdrawals
    draft.withdraws |= other.withdraws
    draft.reference_inputs += other.reference_inputs
    draft.outputs = list(draft.outputs)
    err = world.kit.rejected(world.kit.finish(draft), 3010, "spend")
    assert {f["validator"]["purpose"] for f in err.data} == {"spend"}, "both batches pass; a forwarder refuses"
    accepted(world, release(world, [mine]))
    accepted(world, release(world, [theirs], schedule=world.other))


def test_the_kits_fee_is_the_exact_minimum(world: World) -> None:
    """So that every accepted twin above is a transaction a wallet could really submit."""
    draft = release(world, [a(world, 2)])
    tx = world.kit.finish(draft)
    short = world.kit.finish(draft, fee=tx.transaction_body.fee - 1)
    assert len(short.to_cbor()) == len(tx.to_cbor())
    world.kit.rejected(short, 3122)
    world.kit.accepted(tx)
