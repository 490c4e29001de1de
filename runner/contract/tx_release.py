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
transactions chained through the payer's change (submit them in order).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pycardano as pc
from pycardano import RawCBOR, RawPlutusData

from runner.contract.datums import AllocationDatum, Forward, Reclaim, Release, from_plutus_address
from runner.contract.transactions import Deployment, split_payer
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


def _fit(items: Sequence[Allocation], build: Callable[[Sequence[Allocation]], UnsignedTx]) -> UnsignedTx:
    """The transaction of the longest prefix of ``items`` that fits the limits."""
    n, failed_at = len(items), None
    best: UnsignedTx | None = None
    best_n = 0
    while True:
        try:
            tx = build(items[:n])
        except TooLarge as exc:
            if n <= 1:
                raise UserInputError(f"a single allocation does not fit a transaction ({exc})") from exc
            failed_at = n
            scaled = math.floor(n * exc.limit / exc.used) if exc.used else n * 3 // 4
            n = max(best_n + 1, min(n - 1, scaled))
            continue
        best, best_n = tx, n
        if n == len(items) or (failed_at is not None and n + 1 >= failed_at):
            return best
        n = n + 1 if failed_at is not None else len(items)


def _plan(items: Sequence[Allocation], payer: Sequence[pc.UTxO],
          build: Callable[[Sequence[Allocation], pc.UTxO, pc.UTxO], UnsignedTx]) -> list[UnsignedTx]:
    fee_input, collateral = split_payer(payer)
    txs: list[UnsignedTx] = []
    rest = list(items)
    while rest:
        tx = _fit(rest, lambda part: build(part, fee_input, collateral))
        txs.append(tx)
        used = {a.utxo.input for a in rest} & set(tx.inputs)
        rest = [a for a in rest if a.utxo.input not in used]
        fee_input = tx.produced[-1]  # the payer's change pays the next one
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
    items = sorted([*allocations, *(Allocation(u, AllocationDatum(None, 0, b"", 0)) for u in junk)],  # type: ignore[arg-type]
                   key=lambda a: a.key)
    if not items:
        raise NothingToRelease(f"nothing left to reclaim at {dep.allocation_address}")
    owner = dep.params.owner
    destination = to or pc.Address(pc.VerificationKeyHash(owner), network=dep.network)

    def build(part: Sequence[Allocation], fee_input: pc.UTxO, collateral: pc.UTxO) -> UnsignedTx:
        value = pc.Value()
        for a in part:
            value = value + a.utxo.output.amount
        d = Draft(
            "reclaim", inputs=[a.utxo for a in part] + [fee_input],
            outputs=[pc.TransactionOutput(destination, value)],
            reference_inputs=[dep.script_utxos["spend_forwarder"], dep.script_utxos["batch_release"]],
            withdrawals={dep.reward_account: 0}, withdraws={dep.reward_account: Reclaim()},
            spend={a.utxo.input: Forward() for a in part},
            validity_start=snap.first_slot_at_or_after(expiry), ttl=snap.slot + DEFAULT_TTL_SLOTS,
            required_signers=[owner], change_address=fee_input.output.address, collateral=collateral)
        return finish(d, snap, evaluate)

    return _plan(items, owner_payer, build)
