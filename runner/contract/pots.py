"""Pots: the allocations of one (milestone, vesting time) in one UTxO (pure, no network).

:func:`layout_pots` turns a schedule's allocations into pot datums (the register
transaction locks them); :func:`scan_pots` reads what really sits at the pot address and
keeps only well-formed, fully backed pots (of THIS schedule when its allocations are
given), reporting every other UTxO with the reason it is ignored.  Everything at a script
address is untrusted: anyone can send any UTxO with any datum there.

Layout: allocations are grouped by (milestone id, vesting time); one beneficiary's
allocations in a group are merged into one entry; entries are sorted by
:func:`runner.contract.datums.entry_key` (the validator wants them strictly ascending); a
group whose release outputs would take more than :data:`POT_RELEASE_BYTES` is cut into
several pots, so that one transaction can always release a pot whole.  The layout depends
on the allocations only (never on protocol parameters), so the engine can recompute it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pycardano as pc
from pycardano import RawCBOR, RawPlutusData

from runner.contract.datums import (
    NoOutputDatum,
    PayoutDatum,
    PlutusAddress,
    PotDatum,
    PotEntry,
    SomeOutputDatum,
    SomeOutputDatumHash,
    check_milestone_id,
    entry_key,
    from_plutus_address,
    to_plutus_address,
)
from runner.errors import UserInputError

if TYPE_CHECKING:
    from runner.contract.transactions import AllocationSpec, Deployment

#: Release outputs of one pot take at most this many bytes (a 16,384-byte release
#: transaction also carries the fee input, change, collateral, reference inputs, the
#: withdrawal, the redeemers and a signature: ~700 bytes, measured in the tests).
POT_RELEASE_BYTES = 15_400
_COIN_PLACEHOLDER = 4_000_000  # a release output's coin takes 5 bytes (like 1-4294 ADA)


@dataclass(frozen=True)
class Ignored:
    """A UTxO at the pot address that is not released (only the owner's reclaim moves it)."""

    utxo: pc.UTxO
    reason: str


@dataclass(frozen=True)
class Pot:
    """A well-formed, fully backed pot UTxO with its decoded datum."""

    utxo: pc.UTxO
    datum: PotDatum
    network: pc.Network

    @property
    def key(self) -> tuple[bytes, int]:
        """The ledger's input order."""
        return (self.utxo.input.transaction_id.payload, self.utxo.input.index)

    @property
    def milestone_id(self) -> bytes:
        return bytes(self.datum.milestone_id)

    @property
    def vesting_ms(self) -> int:
        return int(self.datum.vesting_time)

    @property
    def entries(self) -> list[tuple[pc.Address, int]]:
        return [(from_plutus_address(e.beneficiary, self.network), int(e.amount)) for e in self.datum.entries]

    @property
    def tokens(self) -> int:
        return sum(int(e.amount) for e in self.datum.entries)


@dataclass(frozen=True)
class PotScan:
    pots: list[Pot]  # sorted as the ledger orders inputs
    ignored: list[Ignored]


def payout_fields(payout: PayoutDatum) -> dict[str, object]:
    """``TransactionOutput`` keywords for a pot's payout datum."""
    if isinstance(payout, SomeOutputDatumHash):
        return {"datum_hash": pc.DatumHash(bytes(payout.datum_hash))}
    if isinstance(payout, SomeOutputDatum):
        return {"datum": payout.datum}
    return {}


def release_output(address: pc.Address, amount: int, coin: int, token: tuple[bytes, bytes],
                   payout: PayoutDatum) -> pc.TransactionOutput:
    """The output that pays one entry."""
    value = pc.Value(coin, pc.MultiAsset.from_primitive({token[0]: {token[1]: amount}}))
    return pc.TransactionOutput(address, value, **payout_fields(payout))


def _release_bytes(entry: PotEntry, token: tuple[bytes, bytes], payout: PayoutDatum,
                   network: pc.Network) -> int:
    address = from_plutus_address(entry.beneficiary, network)
    return len(release_output(address, int(entry.amount), _COIN_PLACEHOLDER, token, payout).to_cbor())


def layout_pots(allocations: Sequence[AllocationSpec], token: tuple[bytes, bytes], network: pc.Network,
                payout: PayoutDatum | None = None) -> list[PotDatum]:
    """The pots that hold ``allocations``, in a deterministic order (milestone, vesting, entries)."""
    payout = payout or NoOutputDatum()
    groups: dict[tuple[bytes, int], dict[bytes, tuple[PlutusAddress, int]]] = {}
    for spec in allocations:
        if spec.amount <= 0:
            raise UserInputError(f"allocation of {spec.amount} tokens to {spec.beneficiary}: amounts must be positive")
        check_milestone_id(spec.milestone_id)
        try:
            beneficiary = to_plutus_address(spec.beneficiary)
        except ValueError as exc:
            raise UserInputError(f"beneficiary {spec.beneficiary}: {exc}",
                                 hint="use a Shelley base or enterprise address") from exc
        entries = groups.setdefault((spec.milestone_id, spec.vesting_ms), {})
        k = entry_key(beneficiary)
        entries[k] = (beneficiary, entries.get(k, (beneficiary, 0))[1] + spec.amount)
    pots: list[PotDatum] = []
    for (milestone, vesting), entries in sorted(groups.items()):
        chunk: list[PotEntry] = []
        used = 0
        for _, (beneficiary, amount) in sorted(entries.items()):
            entry = PotEntry(beneficiary, amount)
            size = _release_bytes(entry, token, payout, network)
            if chunk and used + size > POT_RELEASE_BYTES:
                pots.append(PotDatum(milestone, vesting, chunk, payout))
                chunk, used = [], 0
            chunk.append(entry)
            used += size
        pots.append(PotDatum(milestone, vesting, chunk, payout))
    return pots


def _datum_cbor(datum: object) -> bytes | None:
    if isinstance(datum, RawCBOR):
        return bytes(datum.cbor)
    if isinstance(datum, (RawPlutusData, pc.PlutusData)):
        return bytes(datum.to_cbor())
    return None


def _problem(dep: Deployment, u: pc.UTxO, datum: PotDatum | None) -> str | None:
    """Why ``u`` is not a releasable pot (None: it is one)."""
    if u.output.address != dep.allocation_address:
        return "not at the pot address itself (another stake part)"
    if datum is None:
        return "no inline pot datum"
    if not 1 <= len(datum.milestone_id) <= 32:
        return "milestone id must be 1 to 32 bytes"
    if not datum.entries:
        return "a pot without entries"
    keys = []
    for e in datum.entries:
        if int(e.amount) <= 0:
            return f"entry amount {e.amount} is not positive"
        keys.append(entry_key(e.beneficiary))
        try:
            address = from_plutus_address(e.beneficiary, dep.network)
            if entry_key(to_plutus_address(address)) != keys[-1]:
                return "a beneficiary address the builder cannot express"
        except Exception as exc:  # noqa: BLE001  # pycardano refuses odd hashes in several ways
            return f"a beneficiary address the builder cannot express ({exc})"
    if any(a >= b for a, b in itertools.pairwise(keys)):
        return "entries not strictly sorted (a duplicate beneficiary?)"
    policy, name = pc.ScriptHash(dep.params.token_policy), pc.AssetName(dep.params.token_name)
    held = u.output.amount.multi_asset.get(policy, {}).get(name, 0)
    want = sum(int(e.amount) for e in datum.entries)
    if held != want:
        return f"holds {held} tokens but its entries add up to {want}"
    foreign = [(p, n) for p, assets in u.output.amount.multi_asset.items() for n in assets
               if (p, n) != (policy, name)]
    if foreign:
        return f"holds {len(foreign)} foreign assets"
    token = (dep.params.token_policy, dep.params.token_name)
    if sum(_release_bytes(e, token, datum.payout_datum, dep.network) for e in datum.entries) > POT_RELEASE_BYTES:
        return "too large to release in one transaction"
    return None


def decode_pot_datum(u: pc.UTxO) -> PotDatum | None:
    raw = _datum_cbor(u.output.datum)
    if raw is None:
        return None
    try:
        datum = PotDatum.from_cbor(raw)
    except Exception:  # noqa: BLE001  # any undecodable datum is junk, by design
        return None
    if not isinstance(datum, PotDatum) or not isinstance(
            datum.payout_datum, (NoOutputDatum, SomeOutputDatumHash, SomeOutputDatum)):
        return None
    return datum


def scan_pots(dep: Deployment, utxos: Sequence[pc.UTxO], *,
              schedule: Sequence[AllocationSpec] | None = None,
              payout: PayoutDatum | None = None) -> PotScan:
    """The releasable pots among ``utxos`` (those whose payment credential is the pot
    address's), and every other such UTxO with the reason it is ignored.  With
    ``schedule`` (the schedule's allocations), only pots of its layout count, each once."""
    expected: dict[bytes, int] | None = None
    if schedule is not None:
        token = (dep.params.token_policy, dep.params.token_name)
        expected = {}
        for d in layout_pots(schedule, token, dep.network, payout):
            expected[bytes(d.to_cbor())] = expected.get(bytes(d.to_cbor()), 0) + 1
    pots: list[Pot] = []
    ignored: list[Ignored] = []
    for u in sorted(utxos, key=lambda x: (x.input.transaction_id.payload, x.input.index)):
        if u.output.address.payment_part != dep.allocation_address.payment_part:
            continue
        datum = decode_pot_datum(u)
        try:
            reason = _problem(dep, u, datum)
        except Exception as exc:  # noqa: BLE001  # a datum pycardano decoded loosely (type checks off)
            reason = f"malformed pot datum ({type(exc).__name__})"
        if reason is None and expected is not None and datum is not None:
            left = expected.get(bytes(datum.to_cbor()), 0)
            if left <= 0:
                reason = "not a pot of this schedule (or a second copy of one)"
            else:
                expected[bytes(datum.to_cbor())] = left - 1
        if reason is not None or datum is None:
            ignored.append(Ignored(u, reason or "no inline pot datum"))
        else:
            pots.append(Pot(u, datum, dep.network))
    return PotScan(pots, ignored)


def certificates_at(dep: Deployment, utxos: Sequence[pc.UTxO]) -> dict[bytes, pc.UTxO]:
    """Certificate UTxOs at the certificate address, by milestone id (policy C tokens only)."""
    found: dict[bytes, pc.UTxO] = {}
    policy = pc.ScriptHash(dep.policy_id)
    for u in utxos:
        if u.output.address != dep.certificate_address:
            continue
        for name in u.output.amount.multi_asset.get(policy, {}):
            found.setdefault(name.payload, u)
    return found


def claimable_pots(pots: Sequence[Pot], certificates: Mapping[bytes, pc.UTxO], now_ms: int) -> list[Pot]:
    """Pots whose milestone is certified and whose vesting time is at or before ``now_ms``."""
    return [p for p in pots if p.milestone_id in certificates and p.vesting_ms <= now_ms]
