"""Oracle signatures: the canonical certificate message, the signatures file, the quorum.

The message (onchain/README.md, "Canonical oracle message") is
``b"milestones:cert:v1" || certificate policy id (28 bytes) || milestone id``: a
signature binds one schedule of one network and one milestone.

The signatures file is the quick-start's list of ``{oracle_address, signature,
signed_data, signature_timestamp}`` plus ``verification_key`` (hex, 32 bytes): the
address carries only the key's hash, and ed25519 needs the key itself.  ``signed_data``
is the message in hex; ``sign-milestone`` writes entries in this format.

:func:`verify` sorts every entry into accepted / ignored (with the reason) and the
file's malformed entries into problems; :func:`check_quorum` refuses too few.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from runner.domain.problems import Problems
from runner.domain.schedule import Oracle, parse_key_address

CERTIFICATE_MESSAGE_TAG = b"milestones:cert:v1"


def certificate_message(policy_id: bytes, milestone: bytes) -> bytes:
    if len(policy_id) != 28 or not 1 <= len(milestone) <= 32:
        raise ValueError("policy id must be 28 bytes and the milestone id 1 to 32 bytes")
    return CERTIFICATE_MESSAGE_TAG + policy_id + milestone


def key_hash(vkey: bytes) -> bytes:
    return hashlib.blake2b(vkey, digest_size=28).digest()


@dataclass(frozen=True)
class OracleSignature:
    """One entry of a signatures file, decoded (not yet verified)."""

    index: int
    oracle_address: str
    verification_key: bytes
    signature: bytes
    signed_data: bytes
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {"oracle_address": self.oracle_address, "verification_key": self.verification_key.hex(),
                "signature": self.signature.hex(), "signed_data": self.signed_data.hex(),
                "signature_timestamp": self.timestamp}


@dataclass(frozen=True)
class Ignored:
    entry: str
    reason: str


@dataclass(frozen=True)
class Verified:
    """Accepted signatures (``{vkey: signature}``, one per oracle) and what was ignored."""

    accepted: dict[bytes, bytes]
    ignored: tuple[Ignored, ...]


def _hex(raw: dict[str, Any], name: str, size: int | None, problems: Problems, where: str,
         entry: str) -> bytes | None:
    value = raw.get(name)
    try:
        data = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if data is None or (size is not None and len(data) != size):
        want = f"{size} bytes of hex" if size else "hex"
        problems.add(where, f"{name} must be {want}", entry=entry, field=name)
        return None
    return data


def parse_signatures(text: str, where: str, network: str, problems: Problems) -> list[OracleSignature]:
    """Decode the file; malformed entries become problems (the caller decides to stop)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(where, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return []
    if not isinstance(raw, list):
        problems.add(where, "expected a JSON list of signatures", entry="$")
        return []
    found: list[OracleSignature] = []
    for index, item in enumerate(raw):
        entry = f"$[{index}]"
        if not isinstance(item, dict):
            problems.add(where, "each signature must be a JSON object", entry=entry)
            continue
        before = len(problems.items)
        address = parse_key_address(item.get("oracle_address"), network, problems, where, entry=entry,
                                    field="oracle_address")
        vkey = _hex(item, "verification_key", 32, problems, where, entry)
        sig = _hex(item, "signature", 64, problems, where, entry)
        data = _hex(item, "signed_data", None, problems, where, entry)
        stamp = item.get("signature_timestamp", 0)
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
            problems.add(where, "signature_timestamp must be POSIX seconds", entry=entry,
                         field="signature_timestamp")
        if len(problems.items) != before or address is None or vkey is None or sig is None or data is None:
            continue
        if key_hash(vkey) != bytes(address.payment_part):
            problems.add(where, "verification_key does not belong to oracle_address", entry=entry,
                         field="verification_key", hint="the key's hash must be the address's payment part")
            continue
        found.append(OracleSignature(index, str(address), vkey, sig, data, int(stamp)))
    return found


def verify(entries: Sequence[OracleSignature], message: bytes, oracles: Sequence[Oracle],
           problems: Problems, where: str) -> Verified:
    """Signatures over another message or that do not verify are problems (the file is
    wrong); non-oracles and repeats are ignored and reported."""
    oracle_hashes = {o.key_hash for o in oracles}
    accepted: dict[bytes, bytes] = {}
    ignored: list[Ignored] = []
    for s in entries:
        entry = f"$[{s.index}]"
        if s.signed_data != message:
            problems.add(where, "signed_data is not this schedule's certificate message for this milestone",
                         entry=entry, field="signed_data",
                         hint="sign with `milestones sign-milestone` for this contract and milestone")
            continue
        try:
            nacl.signing.VerifyKey(s.verification_key).verify(message, s.signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            problems.add(where, "signature does not verify over the message", entry=entry, field="signature")
            continue
        if key_hash(s.verification_key) not in oracle_hashes:
            ignored.append(Ignored(entry, f"{s.oracle_address} is not one of the schedule's oracles"))
        elif s.verification_key in accepted:
            ignored.append(Ignored(entry, f"duplicate signature of {s.oracle_address}"))
        else:
            accepted[s.verification_key] = s.signature
    return Verified(accepted, tuple(ignored))


def check_quorum(verified: Verified, quorum: int, problems: Problems, where: str) -> None:
    if len(verified.accepted) < quorum:
        reasons = "; ".join(f"{i.entry}: {i.reason}" for i in verified.ignored)
        problems.add(where, f"{len(verified.accepted)} valid oracle signature(s), the quorum is {quorum}"
                            + (f" (ignored: {reasons})" if reasons else ""),
                     hint="collect more oracle signatures with `milestones sign-milestone`")


def sign_message(signing_key: bytes, message: bytes) -> tuple[bytes, bytes]:
    """(verification key, signature) for a 32-byte ed25519 seed."""
    key = nacl.signing.SigningKey(signing_key)
    return bytes(key.verify_key), bytes(key.sign(message).signature)
