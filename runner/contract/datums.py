"""pycardano mirrors of the on-chain datum and redeemer types (onchain/schedule_types.py).

The layouts are the contract: tests round-trip every class here against the schemas
of the committed ``plutus.json``.  Also: the canonical oracle message and the ordering
rule of certificate signatures, both fixed by ``onchain/certificate_policy.py``.
Pure: no network, no clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Union

import pycardano
from pycardano import Datum, PlutusData

CERTIFICATE_MESSAGE_TAG = b"milestones:cert:v1"


# ---------------------------------------------------------------- ledger shapes (V3)


@dataclass
class PubKeyCredential(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 0
    credential_hash: bytes


@dataclass
class ScriptCredential(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 1
    credential_hash: bytes


Credential = Union[PubKeyCredential, ScriptCredential]  # noqa: UP007  # pycardano resolves typing.Union fields


@dataclass
class StakingHash(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 0
    value: Credential


@dataclass
class StakingPtr(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 1
    slot_no: int
    tx_index: int
    cert_index: int


@dataclass
class SomeStakingCredential(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 0
    staking_credential: Union[StakingHash, StakingPtr]  # noqa: UP007  # pycardano needs typing.Union


@dataclass
class NoStakingCredential(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 1


@dataclass
class PlutusAddress(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """A ledger address as Plutus sees it (payment + optional stake credential)."""

    CONSTR_ID = 0
    payment_credential: Credential
    staking_credential: Union[NoStakingCredential, SomeStakingCredential]  # noqa: UP007


@dataclass
class PlutusTxOutRef(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """V3 TxOutRef: the tx id is a plain bytestring."""

    CONSTR_ID = 0
    id: bytes
    idx: int


def _credential(part: object) -> Credential:
    if isinstance(part, pycardano.VerificationKeyHash):
        return PubKeyCredential(bytes(part))
    if isinstance(part, pycardano.ScriptHash):
        return ScriptCredential(bytes(part))
    raise ValueError(f"unsupported credential {part!r} (pointer addresses are not supported)")


def to_plutus_address(address: pycardano.Address) -> PlutusAddress:
    """The exact Plutus form of a Shelley address; an output must match it byte for byte."""
    if address.payment_part is None:
        raise ValueError("a beneficiary address needs a payment credential")
    stake: NoStakingCredential | SomeStakingCredential = NoStakingCredential()
    if address.staking_part is not None:
        stake = SomeStakingCredential(StakingHash(_credential(address.staking_part)))
    return PlutusAddress(_credential(address.payment_part), stake)


def from_plutus_address(address: PlutusAddress, network: pycardano.Network) -> pycardano.Address:
    def part(cred: Credential) -> pycardano.VerificationKeyHash | pycardano.ScriptHash:
        if isinstance(cred, PubKeyCredential):
            return pycardano.VerificationKeyHash(cred.credential_hash)
        return pycardano.ScriptHash(cred.credential_hash)

    staking = None
    if isinstance(address.staking_credential, SomeStakingCredential):
        inner = address.staking_credential.staking_credential
        if not isinstance(inner, StakingHash):
            raise ValueError("pointer stake credentials are not supported")  # noqa: TRY004  # a value the contract cannot express
        staking = part(inner.value)
    return pycardano.Address(part(address.payment_credential), staking, network=network)


# ---------------------------------------------------------------- contract types


@dataclass
class NoOutputDatum(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """A paying output without a datum (the default payout datum of a pot)."""

    CONSTR_ID = 0


@dataclass
class SomeOutputDatumHash(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 1
    datum_hash: bytes


@dataclass
class SomeOutputDatum(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 2
    datum: Datum


PayoutDatum = Union[NoOutputDatum, SomeOutputDatumHash, SomeOutputDatum]  # noqa: UP007


@dataclass
class PotEntry(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """One beneficiary of a pot and its amount of tokens."""

    CONSTR_ID = 0
    beneficiary: PlutusAddress
    amount: int


@dataclass
class PotDatum(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """Inline datum of a pot: the allocations of one (milestone, vesting time); entries
    sorted by :func:`entry_key` (strictly ascending), ``vesting_time`` in POSIX ms."""

    CONSTR_ID = 0
    milestone_id: bytes
    vesting_time: int
    entries: list[PotEntry]
    payout_datum: PayoutDatum


def entry_key(beneficiary: PlutusAddress) -> bytes:
    """The order of pot entries: the beneficiary's serialised Plutus data (``serialiseData``
    on chain).  pycardano's CBOR of Plutus data is the canonical one the ledger gives scripts.

    Kept per address shape (:func:`_address_shape`: every field, exact types), since
    pycardano's serialiser is slow and a schedule's scan asks for the same beneficiaries
    again and again; an address of any other shape is serialised each time."""
    shape = _address_shape(beneficiary)
    if shape is None:
        return bytes(beneficiary.to_cbor())
    found = _ENTRY_KEYS.get(shape)
    if found is None:
        if len(_ENTRY_KEYS) >= 100_000:
            _ENTRY_KEYS.clear()
        found = _ENTRY_KEYS[shape] = bytes(beneficiary.to_cbor())
    return found


_ENTRY_KEYS: dict[tuple[object, ...], bytes] = {}


def _credential_shape(cred: object) -> tuple[int, bytes] | None:
    if type(cred) in (PubKeyCredential, ScriptCredential) and type(cred.credential_hash) is bytes:  # type: ignore[attr-defined]
        return (cred.CONSTR_ID, cred.credential_hash)  # type: ignore[attr-defined]
    return None


def _address_shape(address: object) -> tuple[object, ...] | None:
    """Everything that makes up a plain PlutusAddress's CBOR (None: another shape)."""
    if type(address) is not PlutusAddress:
        return None
    pay, stake = _credential_shape(address.payment_credential), address.staking_credential
    if pay is None:
        return None
    if type(stake) is NoStakingCredential:
        return (pay,)
    if type(stake) is SomeStakingCredential and type(stake.staking_credential) is StakingHash:
        inner = _credential_shape(stake.staking_credential.value)
        return None if inner is None else (pay, inner)
    return None


@dataclass
class SignatureEntry(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 0
    oracle_index: int
    vkey: bytes
    signature: bytes


@dataclass
class CertificateDatum(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """Certificate mint redeemer AND the certificate output's inline datum (equal on chain)."""

    CONSTR_ID = 0
    milestone_id: bytes
    signatures: list[SignatureEntry]


@dataclass
class Release(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 0


@dataclass
class Reclaim(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    CONSTR_ID = 1


@dataclass
class Forward(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """The forwarder's spend redeemer (ignored on chain; the batch validator decides)."""

    CONSTR_ID = 0


BatchRedeemer = Union[Release, Reclaim]  # noqa: UP007


def certificate_message(policy_id: bytes, milestone_id: bytes) -> bytes:
    """The exact bytes every oracle signs: tag || certificate policy id || milestone id.

    The policy id hashes the schedule's parameters, including the seed output reference
    that exists on one network only, so a signature is bound to one schedule of one
    network and to one milestone.  The tag and the policy id have fixed lengths, so the
    milestone id needs no length prefix.
    """
    if len(policy_id) != 28:
        raise ValueError("certificate policy id must be 28 bytes")
    check_milestone_id(milestone_id)
    return CERTIFICATE_MESSAGE_TAG + policy_id + milestone_id


def check_milestone_id(milestone_id: bytes) -> None:
    """A milestone id is a certificate token name: 1 to 32 bytes (b"" is refused on chain)."""
    if not 1 <= len(milestone_id) <= 32:
        raise ValueError(f"milestone id must be 1 to 32 bytes, got {len(milestone_id)}")


def key_hash(vkey: bytes) -> bytes:
    return hashlib.blake2b(vkey, digest_size=28).digest()


def certificate_datum(
    milestone_id: bytes, signatures: dict[bytes, bytes], oracles: tuple[bytes, ...]
) -> CertificateDatum:
    """Arrange ``{vkey: signature}`` as the policy wants: oracle index hints, ascending key hash.

    Keys that are not oracles are refused here (the policy would fail on them).
    """
    entries = []
    for vkey, signature in signatures.items():
        pkh = key_hash(vkey)
        if pkh not in oracles:
            raise ValueError(f"key {pkh.hex()} is not one of the schedule's oracles")
        entries.append((pkh, SignatureEntry(oracles.index(pkh), vkey, signature)))
    entries.sort(key=lambda pair: pair[0])
    return CertificateDatum(milestone_id, [entry for _, entry in entries])
