"""Attacks on RECLAIM, submitted to the full devnet ledger (phase 1 + phase 2).

After the schedule's expiry the owner (by signature) takes back allocations never
released; before it, or without the owner, nothing moves.  The clock of this module's
ledger stands after the expiry, so the "before expiry" attacks claim a validity lower
bound before it (the only time the scripts see), and claiming a lower bound after the
current slot is a phase-1 error (3118).
"""

from __future__ import annotations

from collections.abc import Callable

import pycardano as pc
import pytest

from runner.devnet.ledger.ledger import Ledger
from runner.testing.attack_kit import (
    LATE,
    MILESTONES,
    UNCERTIFIED,
    Draft,
    World,
    address,
    build_world,
    key,
    key_hash,
    reclaim,
)

EXPIRY_MS = 200_000
M1 = MILESTONES[0]


@pytest.fixture(scope="module")
def world(ledger_factory: Callable[..., Ledger]) -> World:
    w = build_world(ledger_factory(wallets=("alice",)), expiry_ms=EXPIRY_MS)
    w.ledger.advance_to_posix_ms(EXPIRY_MS + 10_000)
    return w



def refused(world: World, draft: Draft, code: int = 3010, purpose: str = "withdraw", trace: str | None = None) -> None:
    """``trace``: the validator's message, checked when the scripts keep traces (ATTACK_BLUEPRINT=traced)."""
    world.kit.rejected(world.kit.finish(draft), code, purpose if code == 3010 else None, trace)


def accepted(world: World, draft: Draft) -> pc.Transaction:
    tx = world.kit.finish(draft)
    world.kit.accepted(tx)
    return tx


def refs(world: World, *pairs: tuple[int, bytes]) -> list[pc.TransactionInput]:
    """The pots holding these (beneficiary, milestone) entries, each once."""
    return list(dict.fromkeys(world.schedule.find(b, m).ref for b, m in pairs))


def test_reclaim_one_slot_before_expiry_is_refused_and_at_expiry_accepted(world: World) -> None:
    expiry_slot = world.slot_of(EXPIRY_MS)
    assert world.now_slot() > expiry_slot
    mine = refs(world, (0, M1), (1, LATE))
    refused(world, reclaim(world, mine, validity_start=expiry_slot - 1), trace="not expired")
    accepted(world, reclaim(world, mine, validity_start=expiry_slot))


def test_reclaim_claiming_a_future_lower_bound_or_none(world: World) -> None:
    mine = refs(world, (2, M1))
    refused(world, reclaim(world, mine, validity_start=world.now_slot() + 50), code=3118)
    refused(world, reclaim(world, mine, validity_start=None), trace="lower bound must be finite")
    accepted(world, reclaim(world, mine))


def test_reclaim_without_the_owner(world: World) -> None:
    mine = refs(world, (3, M1), (3, UNCERTIFIED))
    refused(world, reclaim(world, mine, sign=False), trace="owner must sign")  # no owner among the signatories
    listed_not_signed = reclaim(world, mine)
    listed_not_signed.signers = [world.kit.payer]  # owner named as required signer, no witness
    refused(world, listed_not_signed, code=3101)
    impostor = reclaim(world, mine, sign=False)
    mallory = key("mallory")
    impostor.required_signers, impostor.signers = [key_hash(mallory)], [world.kit.payer, mallory]
    impostor.outputs = [pc.TransactionOutput(address("mallory"), impostor.outputs[0].amount)]
    refused(world, impostor, trace="owner must sign")
    accepted(world, reclaim(world, mine))


def test_reclaim_through_another_schedules_batch(world: World) -> None:
    """The other schedule has the same owner: its Reclaim passes, but our forwarder wants OUR batch."""
    other = world.other
    draft = reclaim(world, refs(world, (4, M1)))
    draft.withdrawals = {other.reward_account: 0}
    draft.withdraws = {other.reward_account: draft.withdraws.popitem()[1]}
    draft.reference_inputs[1] = other.script_refs["batch_release"]
    err = world.kit.rejected(world.kit.finish(draft), 3010, "spend")
    assert {f["validator"]["purpose"] for f in err.data} == {"spend"}, "the other batch itself passes"
    accepted(world, reclaim(world, refs(world, (4, M1))))


def test_owner_reclaims_every_remaining_allocation_and_malformed_utxos(world: World) -> None:
    junk_tx = world.kit.finish(Draft(inputs=world.kit.payer_utxos()[:1], signers=[world.kit.payer], outputs=[
        pc.TransactionOutput(world.schedule.allocation_address, 5_000_000, datum=b"not an allocation")]))
    world.kit.submit(junk_tx)
    junk = pc.TransactionInput(junk_tx.id, 0)
    everything = list(world.schedule.pots) + [junk]
    early = reclaim(world, everything, validity_start=world.slot_of(EXPIRY_MS) - 1)
    refused(world, early, trace="not expired")
    tx = accepted(world, reclaim(world, everything))
    assert all(r not in world.ledger.utxo for r in everything)
    units = sum(r.ex_units.mem for r in tx.transaction_witness_set.redeemer)
    assert units <= world.ledger.params.max_tx_ex_mem, f"{len(everything)} inputs reclaimed, memory {units}"
