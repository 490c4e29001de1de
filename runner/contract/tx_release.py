"""Release and reclaim transactions: as many pots per transaction as the limits allow.

Release (what the batch validator checks, onchain/README.md): the ledger orders inputs by
(tx id, index), so the builder walks the claimable pots in that order and pays each
pot's entries, in the pot's order, with consecutive outputs from output 0 on (exact
address, the entry's tokens, the pot's payout datum, no reference script; the pot's ADA
spread over them, the first entry taking what is above the min-UTxOs); the change comes
last.  It references the forwarder and batch scripts and only the certificates of the
milestones in the batch; the batch validator runs as a withdrawal of the account's
actual reward balance (``reward_balance``, 0 unless someone sent rewards there) with the
``Release`` redeemer; the validity lower bound is the latest vesting time of the batch.

Only pots :func:`runner.contract.pots.scan_pots` finds releasable are released (of the
schedule's own layout when ``schedule`` is given); a batch that fails to build for
another reason than the limits is narrowed to the pots that fail alone, which are
dropped with the reason while the rest proceed (:class:`ReleasePlan`).

Batch size: the largest prefix of pots that fits the size and ex-unit limits with the
margin the builder declares (``tx_core.EX_UNIT_MARGIN``), found by scaling from the
measured use and then stepping; the rest goes into further transactions, each paid by
another of the payer's UTxOs (so each can be evaluated against the chain as it is) and,
when those run out and the caller can evaluate against outputs not yet on chain
(``evaluate_after``), by the change of the previous transaction: a chain of transactions
built from one look at the chain, submitted in order (a transaction whose predecessor
does not land can never land either: its fee input does not exist).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pycardano as pc

from runner.contract.datums import Forward, Reclaim, Release
from runner.contract.pots import (
    Ignored,
    Pot,
    PotScan,
    certificates_at,
    claimable_pots,
    release_output,
    scan_pots,
)
from runner.contract.transactions import COLLATERAL_MIN, AllocationSpec, Deployment, payer_inputs
from runner.contract.tx_core import (
    DEFAULT_TTL_SLOTS,
    ChainSnapshot,
    Draft,
    Evaluator,
    TooLarge,
    UnsignedTx,
    finish,
)
from runner.contract.tx_values import min_lovelace
from runner.errors import UserInputError

#: An evaluator that also sees the given outputs of transactions not yet on chain (the
#: change a chained transaction spends): Ogmios' ``additionalUtxo``.
EvaluatorAfter = Callable[[Sequence[pc.UTxO]], Evaluator]


class NothingToRelease(UserInputError):
    """No pot is both certified and vested (or none is left)."""


@dataclass(frozen=True)
class ReleasePlan:
    transactions: list[UnsignedTx]
    skipped: list[Ignored]  # ignored UTxOs and pots dropped because their transaction failed


def decode_allocations(dep: Deployment, utxos: Sequence[pc.UTxO]) -> tuple[list[Pot], list[pc.UTxO]]:
    """(releasable pots sorted as the ledger orders inputs, every other UTxO at the address)."""
    scan = scan_pots(dep, utxos)
    return scan.pots, [i.utxo for i in scan.ignored]


decode_pots = decode_allocations


def claimable(dep: Deployment, utxos: Sequence[pc.UTxO], certificates: Mapping[bytes, pc.UTxO],
              snap: ChainSnapshot, *, schedule: Sequence[AllocationSpec] | None = None) -> list[Pot]:
    """Pots whose milestone is certified and whose vesting time is at or before now."""
    return claimable_pots(scan_pots(dep, utxos, schedule=schedule).pots, certificates, snap.now_ms)


Item = TypeVar("Item", Pot, pc.UTxO)
#: ``build(pots, fee input, collateral, evaluator)``: one transaction of a plan.
Build = Callable[[Sequence[Item], pc.UTxO, pc.UTxO, Evaluator], UnsignedTx]


def _utxo(item: Pot | pc.UTxO) -> pc.UTxO:
    return item.utxo if isinstance(item, Pot) else item


def _fit(items: Sequence[Item], build: Callable[[Sequence[Item]], UnsignedTx]) -> UnsignedTx:
    """The transaction of the longest prefix of ``items`` that fits the limits: start with
    all, scale down by the measured overshoot, then step up to the largest that fits."""
    n, failed_at, best_n = len(items), len(items) + 1, 0
    best: UnsignedTx | None = None
    while True:
        try:
            tx = build(items[:n])
        except TooLarge as exc:
            failed_at = n
            if best is not None and best_n + 1 >= failed_at:
                return best
            if n <= 1:
                raise UserInputError(f"a single pot does not fit in a transaction ({exc})") from exc
            scaled = math.floor(n * exc.limit / exc.used) if exc.used else n * 3 // 4
            n = max(best_n + 1, min(n - 1, scaled))
            continue
        best, best_n = tx, n
        if n + 1 >= failed_at:
            return best
        n = (n + failed_at) // 2 if failed_at - n > 3 else n + 1  # bisect a wide gap, else step


def _call(build: Build[Item], part: Sequence[Item], *, fee_input: pc.UTxO, collateral: pc.UTxO,
          evaluate: Evaluator) -> UnsignedTx:
    return build(part, fee_input, collateral, evaluate)


def _change(tx: UnsignedTx, fee_input: pc.UTxO) -> pc.UTxO | None:
    """The change of ``tx`` when it can pay (and back) the next transaction of a chain: the
    last output, back at the fee input's address, ADA only, at least the collateral minimum."""
    if not tx.produced:
        return None
    last = tx.produced[-1]
    out = last.output
    if (out.address != fee_input.output.address or out.amount.multi_asset or out.datum is not None
            or out.datum_hash is not None or out.script is not None or out.amount.coin < COLLATERAL_MIN):
        return None
    return last


def _culprits(items: Sequence[Item], build: Callable[[Sequence[Item]], UnsignedTx]) -> list[Ignored]:
    """The items whose transaction fails alone (each with the reason)."""
    found = []
    for item in items:
        try:
            build([item])
        except Exception as exc:  # noqa: BLE001  # any failure of one pot drops that pot only
            found.append(Ignored(_utxo(item), f"its transaction fails: {exc}"))
    return found


def _plan(items: Sequence[Item], payer: Sequence[pc.UTxO], build: Build[Item], evaluate: Evaluator,
          evaluate_after: EvaluatorAfter | None = None, *, withdraws: bool = False) -> ReleasePlan:
    """One transaction per existing fee input of the payer (independent: each can be
    evaluated now and submitted in any order); when they run out, with ``evaluate_after``,
    further transactions each paid by the previous one's change (a chain, evaluated with
    the change as an additional UTxO); without it, what is left waits for the next call,
    once these are on chain.  A batch failing for another reason than the limits: the
    items failing alone are dropped (reported), the rest retried.  A chained transaction
    that fails ends the chain: the transactions made so far stand, the rest waits for the
    next call (paid by real UTxOs then, so a failing pot is judged on its own).
    ``withdraws``: the transactions withdraw a reward balance, which only one of them can
    (whole): ONE transaction, from the first fee input; the next call reads the balance again."""
    fee_inputs, collateral = payer_inputs(payer)
    if withdraws:
        fee_inputs, evaluate_after = fee_inputs[:1], None
    txs: list[UnsignedTx] = []
    skipped: list[Ignored] = []
    rest = list(items)
    queue: list[tuple[pc.UTxO, Evaluator]] = [(f, evaluate) for f in fee_inputs]
    while queue:
        fee_input, evaluate_now = queue.pop(0)
        build_one = functools.partial(_call, build, fee_input=fee_input, collateral=collateral,
                                      evaluate=evaluate_now)
        while rest:
            try:
                tx = _fit(rest, build_one)
                break
            except Exception as exc:
                if txs and fee_input not in fee_inputs:  # paid by a change: stop the chain here
                    return ReleasePlan(txs, skipped)
                bad = _culprits(rest, build_one)
                if not bad or (len(bad) == len(rest) > 1):
                    raise  # nothing to blame on one pot, or a failure common to all (the chain, the payer)
                skipped += bad
                dropped = {b.utxo.input for b in bad}
                rest = [i for i in rest if _utxo(i).input not in dropped]
                if not rest and not txs:
                    raise NothingToRelease(f"every pot failed: {bad[0].reason}") from exc
        else:  # nothing left (all dropped or all placed): the transactions made so far stand
            break
        txs.append(tx)
        spent = set(tx.inputs)
        rest = [a for a in rest if _utxo(a).input not in spent]
        change = _change(tx, fee_input) if rest and not queue and evaluate_after is not None else None
        if change is not None and evaluate_after is not None:
            if collateral.input in spent:  # the payer's only UTxO paid this one: the change backs the next
                collateral = change
            queue.append((change, evaluate_after([change])))
    return ReleasePlan(txs, skipped)


def _pot_outputs(dep: Deployment, pot: Pot, params: pc.ProtocolParameters) -> list[pc.TransactionOutput]:
    token = (dep.params.token_policy, dep.params.token_name)
    outputs = []
    for address, amount in pot.entries:
        out = release_output(address, amount, 0, token, pot.datum.payout_datum)
        out.amount.coin = min_lovelace(params, out)
        outputs.append(out)
    extra = pot.utxo.output.amount.coin - sum(o.amount.coin for o in outputs)
    if extra > 0:  # the validator wants the pot's ADA with the beneficiaries
        outputs[0].amount.coin += extra
    return outputs


def release_plan(dep: Deployment, pot_utxos: Sequence[pc.UTxO], certificates: Mapping[bytes, pc.UTxO],
                 payer: Sequence[pc.UTxO], snap: ChainSnapshot, evaluate: Evaluator, *,
                 schedule: Sequence[AllocationSpec] | None = None, reward_balance: int = 0,
                 evaluate_after: EvaluatorAfter | None = None) -> ReleasePlan:
    """Release every claimable pot, in as few transactions as the limits allow, and say
    what was left out and why.  ``evaluate_after``: chain transactions when the payer's
    UTxOs run out (not with a reward balance: it is withdrawn whole, by one transaction)."""
    scan = scan_pots(dep, pot_utxos, schedule=schedule)
    items = claimable_pots(scan.pots, certificates, snap.now_ms)
    if not items:
        pending = sorted({p.milestone_id for p in scan.pots if p.milestone_id not in certificates})
        raise NothingToRelease(
            f"nothing to release at {dep.allocation_address}: {len(scan.pots)} pots left, "
            f"none both certified and vested" + (f" (uncertified milestones: {pending})" if pending else "")
            + (f"; {len(scan.ignored)} UTxOs ignored ({scan.ignored[0].reason}, ...)" if scan.ignored else ""),
            hint="certify the milestone, or wait until its vesting time")

    paying = {p.key: _pot_outputs(dep, p, snap.params) for p in items}  # once, not per attempt

    def build(part: Sequence[Pot], fee_input: pc.UTxO, collateral: pc.UTxO, evaluate: Evaluator) -> UnsignedTx:
        outputs = [o for p in part for o in paying[p.key]]
        milestones = sorted({p.milestone_id for p in part})
        lower = snap.first_slot_at_or_after(max(p.vesting_ms for p in part))
        d = Draft(
            "release", inputs=[p.utxo for p in part] + [fee_input], outputs=outputs,
            reference_inputs=[dep.script_utxos["spend_forwarder"], dep.script_utxos["batch_release"],
                              *(certificates[m] for m in milestones)],
            withdrawals={dep.reward_account: reward_balance}, withdraws={dep.reward_account: Release()},
            spend={p.utxo.input: Forward() for p in part}, validity_start=lower,
            ttl=snap.slot + DEFAULT_TTL_SLOTS, change_address=fee_input.output.address, collateral=collateral)
        return finish(d, snap, evaluate)

    plan = _plan(items, payer, build, evaluate, evaluate_after, withdraws=reward_balance > 0)
    return ReleasePlan(plan.transactions, scan.ignored + plan.skipped)


def release(dep: Deployment, pot_utxos: Sequence[pc.UTxO], certificates: Mapping[bytes, pc.UTxO],
            payer: Sequence[pc.UTxO], snap: ChainSnapshot, evaluate: Evaluator, *,
            schedule: Sequence[AllocationSpec] | None = None, reward_balance: int = 0,
            evaluate_after: EvaluatorAfter | None = None) -> list[UnsignedTx]:
    """The transactions of :func:`release_plan`."""
    return release_plan(dep, pot_utxos, certificates, payer, snap, evaluate, schedule=schedule,
                        reward_balance=reward_balance, evaluate_after=evaluate_after).transactions


def _split_values(values: Sequence[pc.Value], max_value_bytes: int) -> list[pc.Value]:
    """Merge values into as few as possible, each under ``max_value_bytes`` serialised
    (a value never splits: each came from one UTxO, so it covers its own min-UTxO)."""
    merged: list[pc.Value] = []
    for v in values:
        if merged and len((merged[-1] + v).to_cbor()) <= max_value_bytes:
            merged[-1] = merged[-1] + v
        else:
            merged.append(v)
    return merged


def reclaim(dep: Deployment, utxos: Sequence[pc.UTxO], owner_payer: Sequence[pc.UTxO], snap: ChainSnapshot,
            evaluate: Evaluator, *, to: pc.Address | None = None, reward_balance: int = 0,
            evaluate_after: EvaluatorAfter | None = None) -> list[UnsignedTx]:
    """After expiry, the owner takes back everything left at the pot address (junk too);
    the owner's key signs (required signer).  Outputs stay under the max value size.
    ``evaluate_after``: as for :func:`release_plan`."""
    expiry = dep.params.expiry_ms
    if snap.now_ms < expiry:
        raise UserInputError(f"the schedule expires at POSIX ms {expiry}; it is {snap.now_ms} now",
                             hint="reclaim after the expiry")
    items = sorted([u for u in utxos if u.output.address.payment_part == dep.allocation_address.payment_part],
                   key=lambda u: (u.input.transaction_id.payload, u.input.index))
    if not items:
        raise NothingToRelease(f"nothing left to reclaim at {dep.allocation_address}")
    owner = dep.params.owner
    destination = to or pc.Address(pc.VerificationKeyHash(owner), network=dep.network)
    max_value = int(snap.params.max_val_size or 5000) - 100

    def build(part: Sequence[pc.UTxO], fee_input: pc.UTxO, collateral: pc.UTxO, evaluate: Evaluator) -> UnsignedTx:
        values = _split_values([u.output.amount for u in part], max_value)
        d = Draft(
            "reclaim", inputs=list(part) + [fee_input],
            outputs=[pc.TransactionOutput(destination, v) for v in values],
            reference_inputs=[dep.script_utxos["spend_forwarder"], dep.script_utxos["batch_release"]],
            withdrawals={dep.reward_account: reward_balance}, withdraws={dep.reward_account: Reclaim()},
            spend={u.input: Forward() for u in part},
            validity_start=snap.first_slot_at_or_after(expiry), ttl=snap.slot + DEFAULT_TTL_SLOTS,
            required_signers=[owner], change_address=fee_input.output.address, collateral=collateral)
        return finish(d, snap, evaluate)

    return _plan(items, owner_payer, build, evaluate, evaluate_after, withdraws=reward_balance > 0).transactions


__all__ = ["Ignored", "NothingToRelease", "Pot", "PotScan", "ReleasePlan", "certificates_at", "claimable",
           "decode_allocations", "decode_pots", "reclaim", "release", "release_plan", "scan_pots"]
