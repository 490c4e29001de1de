"""Release and reclaim transactions: as many allocations per transaction as the limits allow.

Release (what the batch validator checks, onchain/README.md): the ledger orders inputs by
(tx id, index), so the builder walks the claimable allocations in that order, forms a
group of each run of consecutive allocations of one beneficiary and pays each group with
one output (its tokens and all its ADA) in the same order; it references the forwarder
and batch scripts and only the certificates of the milestones in the batch; the batch
validator runs as a zero withdrawal with the ``Release`` redeemer; the validity lower
bound is the latest vesting time of the batch (the earliest slot that proves it), which
is at or before now.

Batch size: the largest prefix that fits the size and ex-unit limits with the margin
the builder declares (``tx_core.EX_UNIT_MARGIN``), found by scaling from the measured
use and then stepping (each step is one evaluation); the rest goes into further
transactions, each paid by another of the payer's UTxOs (so each can be evaluated
against the chain as it is; the payer should hold a few ADA-only UTxOs — what does not
fit in the transactions it can pay for is left for the next call).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pycardano as pc
from pycardano import RawCBOR, RawPlutusData

from runner.contract.datums import AllocationDatum, Forward, Reclaim, Release, from_plutus_address
from runner.contract.transactions import Deployment, payer_inputs
from runner.contract.tx_core import (
    DEFAULT_TTL_SLOTS,
    ChainSnapshot,
    Draft,
    Evaluator,
    TooLarge,
    UnsignedTx,
    finish,
)
from runner.errors import UserInputError


class NothingToRelease(UserInputError):
    """No allocation is both certified and vested (or none is left)."""


@dataclass(frozen=True)
class Allocation:
    """An allocation UTxO with its decoded datum."""

    utxo: pc.UTxO
    datum: AllocationDatum

    @property
    def key(self) -> tuple[bytes, int]:
        return (self.utxo.input.transaction_id.payload, self.utxo.input.index)

    @property
    def beneficiary_key(self) -> bytes:
        return bytes(self.datum.beneficiary.to_cbor())


def _datum_cbor(datum: object) -> bytes | None:
    if isinstance(datum, RawCBOR):
        return bytes(datum.cbor)
    if isinstance(datum, RawPlutusData):
        return bytes(datum.to_cbor())
    if isinstance(datum, pc.PlutusData):
        return bytes(datum.to_cbor())
    return None


def decode_allocations(dep: Deployment, utxos: Sequence[pc.UTxO]) -> tuple[list[Allocation], list[pc.UTxO]]:
    """(allocations sorted as the ledger orders inputs, UTxOs at the address that are not
    well-formed allocations — only the owner's reclaim can move those)."""
    good: list[Allocation] = []
    junk: list[pc.UTxO] = []
    for u in utxos:
        if u.output.address.payment_part != dep.allocation_address.payment_part:
            continue
        raw = _datum_cbor(u.output.datum)
        try:
            datum = AllocationDatum.from_cbor(raw) if raw is not None else None
        except Exception:  # noqa: BLE001  # any undecodable datum is junk, by design
            datum = None
        if datum is None or datum.amount < 0:
            junk.append(u)
        else:
            good.append(Allocation(u, datum))
    good.sort(key=lambda a: a.key)
    return good, junk


def claimable(dep: Deployment, utxos: Sequence[pc.UTxO], certificates: Mapping[bytes, pc.UTxO],
              snap: ChainSnapshot) -> list[Allocation]:
    """Allocations whose milestone is certified and whose vesting time is at or before now."""
    allocations, _ = decode_allocations(dep, utxos)
    return [a for a in allocations if a.datum.milestone_id in certificates and a.datum.vesting_time <= snap.now_ms]


def certificates_at(dep: Deployment, utxos: Sequence[pc.UTxO]) -> dict[bytes, pc.UTxO]:
    """Certificate UTxOs at the certificate address, by milestone id (policy C tokens only)."""
    found: dict[bytes, pc.UTxO] = {}
    policy = pc.ScriptHash(dep.policy_id)
    for u in utxos:
        for name in u.output.amount.multi_asset.get(policy, {}):
            found.setdefault(name.payload, u)
    return found


def _groups(items: Sequence[Allocation]) -> list[list[Allocation]]:
    groups: list[list[Allocation]] = []
    for a in items:
        if groups and groups[-1][0].beneficiary_key == a.beneficiary_key:
            groups[-1].append(a)
        else:
            groups.append([a])
    return groups


Item = TypeVar("Item", Allocation, pc.UTxO)


def _utxo(item: Allocation | pc.UTxO) -> pc.UTxO:
    return item.utxo if isinstance(item, Allocation) else item


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
                raise UserInputError(f"a single allocation does not fit in a transaction ({exc})") from exc
            scaled = math.floor(n * exc.limit / exc.used) if exc.used else n * 3 // 4
            n = max(best_n + 1, min(n - 1, scaled))
            continue
        best, best_n = tx, n
        if n + 1 >= failed_at:
            return best
        n = (n + failed_at) // 2 if failed_at - n > 3 else n + 1  # bisect a wide gap, else step


def _call(build: Callable[[Sequence[Item], pc.UTxO, pc.UTxO], UnsignedTx], part: Sequence[Item], *,
          fee_input: pc.UTxO, collateral: pc.UTxO) -> UnsignedTx:
    return build(part, fee_input, collateral)


def _plan(items: Sequence[Item], payer: Sequence[pc.UTxO],
          build: Callable[[Sequence[Item], pc.UTxO, pc.UTxO], UnsignedTx]) -> list[UnsignedTx]:
    """One transaction per existing fee input of the payer (so that every transaction can
    be evaluated now and submitted in any order); what is left when the payer's UTxOs run
    out waits for the next call, once these are on chain."""
    fee_inputs, collateral = payer_inputs(payer)
    txs: list[UnsignedTx] = []
    rest = list(items)
    for fee_input in fee_inputs:
        if not rest:
            break
        tx = _fit(rest, functools.partial(_call, build, fee_input=fee_input, collateral=collateral))
        txs.append(tx)
        spent = set(tx.inputs)
        rest = [a for a in rest if _utxo(a).input not in spent]
    return txs


def release(dep: Deployment, allocation_utxos: Sequence[pc.UTxO], certificates: Mapping[bytes, pc.UTxO],
            payer: Sequence[pc.UTxO], snap: ChainSnapshot, evaluate: Evaluator) -> list[UnsignedTx]:
    """Release every claimable allocation, in as few transactions as the limits allow."""
    items = claimable(dep, allocation_utxos, certificates, snap)
    if not items:
        allocations, _ = decode_allocations(dep, allocation_utxos)
        pending = sorted({a.datum.milestone_id for a in allocations if a.datum.milestone_id not in certificates})
        raise NothingToRelease(
            f"nothing to release at {dep.allocation_address}: {len(allocations)} allocations left, "
            f"none both certified and vested" + (f" (uncertified milestones: {pending})" if pending else ""),
            hint="certify the milestone, or wait until its vesting time")

    def build(part: Sequence[Allocation], fee_input: pc.UTxO, collateral: pc.UTxO) -> UnsignedTx:
        outputs = []
        for g in _groups(part):
            value = pc.Value()
            for a in g:
                value = value + a.utxo.output.amount
            outputs.append(pc.TransactionOutput(from_plutus_address(g[0].datum.beneficiary, dep.network), value))
        milestones = sorted({a.datum.milestone_id for a in part})
        lower = snap.first_slot_at_or_after(max(a.datum.vesting_time for a in part))
        d = Draft(
            "release", inputs=[a.utxo for a in part] + [fee_input], outputs=outputs,
            reference_inputs=[dep.script_utxos["spend_forwarder"], dep.script_utxos["batch_release"],
                              *(certificates[m] for m in milestones)],
            withdrawals={dep.reward_account: 0}, withdraws={dep.reward_account: Release()},
            spend={a.utxo.input: Forward() for a in part}, validity_start=lower,
            ttl=snap.slot + DEFAULT_TTL_SLOTS, change_address=fee_input.output.address, collateral=collateral)
        return finish(d, snap, evaluate)

    return _plan(items, payer, build)


def reclaim(dep: Deployment, utxos: Sequence[pc.UTxO], owner_payer: Sequence[pc.UTxO], snap: ChainSnapshot,
            evaluate: Evaluator, *, to: pc.Address | None = None) -> list[UnsignedTx]:
    """After expiry, the owner takes back everything left at the allocation address
    (malformed UTxOs too); the owner's key signs (required signer)."""
    expiry = dep.params.expiry_ms
    if snap.now_ms < expiry:
        raise UserInputError(f"the schedule expires at POSIX ms {expiry}; it is {snap.now_ms} now",
                             hint="reclaim after the expiry")
    allocations, junk = decode_allocations(dep, utxos)
    items = sorted([a.utxo for a in allocations] + junk,
                   key=lambda u: (u.input.transaction_id.payload, u.input.index))
    if not items:
        raise NothingToRelease(f"nothing left to reclaim at {dep.allocation_address}")
    owner = dep.params.owner
    destination = to or pc.Address(pc.VerificationKeyHash(owner), network=dep.network)

    def build(part: Sequence[pc.UTxO], fee_input: pc.UTxO, collateral: pc.UTxO) -> UnsignedTx:
        value = pc.Value()
        for u in part:
            value = value + u.output.amount
        d = Draft(
            "reclaim", inputs=list(part) + [fee_input],
            outputs=[pc.TransactionOutput(destination, value)],
            reference_inputs=[dep.script_utxos["spend_forwarder"], dep.script_utxos["batch_release"]],
            withdrawals={dep.reward_account: 0}, withdraws={dep.reward_account: Reclaim()},
            spend={u.input: Forward() for u in part},
            validity_start=snap.first_slot_at_or_after(expiry), ttl=snap.slot + DEFAULT_TTL_SLOTS,
            required_signers=[owner], change_address=fee_input.output.address, collateral=collateral)
        return finish(d, snap, evaluate)

    return _plan(items, owner_payer, build)
