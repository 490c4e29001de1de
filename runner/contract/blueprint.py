"""The committed blueprint ``plutus.json`` and the per-schedule scripts made from it.

A schedule is one set of three Plutus V3 scripts, each the blueprint's compiled code
with the schedule's parameters applied (UPLC ``Apply`` of data constants, program
version kept at :data:`PROGRAM_VERSION`):

    certificate_policy(seed, oracles, quorum)                  -> policy id C
    batch_release(C, owner, expiry, token_policy, token_name)  -> stake credential B
    spend_forwarder(B)                                          -> allocation address F

The seed output reference makes C unique, and C, B and F follow from it, so two
schedules with the same content never share an address.  Pure: no network, no clock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pycardano
import uplc
import uplc.ast

from runner.errors import UserInputError

PROGRAM_VERSION = (1, 1, 0)
BLUEPRINT_PATH = Path(__file__).resolve().parents[2] / "plutus.json"
KEY_HASH_SIZE = 28
V3_SCRIPT_TAG = b"\x03"

Parameter: TypeAlias = "bytes | int | pycardano.PlutusData"


def script_hash_hex(script_cbor: bytes) -> str:
    """Ledger hash of a V3 script given its (singly CBOR-wrapped) flat bytes."""
    return hashlib.blake2b(V3_SCRIPT_TAG + script_cbor, digest_size=28).hexdigest()


def _as_uplc_data(value: Parameter) -> uplc.ast.PlutusData:
    if isinstance(value, bool):
        raise TypeError("a bool is not a Plutus data parameter")
    if isinstance(value, bytes):
        return uplc.ast.PlutusByteString(value)
    if isinstance(value, int):
        return uplc.ast.PlutusInteger(value)
    if isinstance(value, pycardano.PlutusData):
        return uplc.ast.data_from_cbor(value.to_cbor())
    raise TypeError(f"cannot apply a {type(value).__name__} as a script parameter")


def apply_parameters(script_cbor: bytes, *params: Parameter) -> bytes:
    """Apply data parameters to a compiled script; the one path used by build and runner."""
    program = uplc.unflatten(script_cbor)
    term = program.term
    for value in params:
        term = uplc.ast.Apply(term, _as_uplc_data(value))
    return bytes(uplc.flatten(uplc.ast.Program(program.version, term)))


def forwarder_hash_frame(forwarder_cbor: bytes) -> tuple[bytes, bytes]:
    """Bytes around the batch hash in ``0x03 || forwarder(batch_hash)``.

    The batch validator recomputes its forwarder's hash as
    ``blake2b_224(prefix || own_hash || suffix)``.  Found by applying two different
    hashes and checking that they differ in exactly one 28-byte window.
    """
    low, high = bytes(KEY_HASH_SIZE), b"\xff" * KEY_HASH_SIZE
    a = V3_SCRIPT_TAG + apply_parameters(forwarder_cbor, low)
    b = V3_SCRIPT_TAG + apply_parameters(forwarder_cbor, high)
    start = a.index(low)
    prefix, suffix = a[:start], a[start + KEY_HASH_SIZE :]
    if len(a) != len(b) or b != prefix + high + suffix:
        raise RuntimeError("forwarder serialisation does not frame its parameter")
    return prefix, suffix


@dataclass(frozen=True)
class BlueprintValidator:
    title: str
    compiled_code: bytes
    hash: str
    parameters: tuple[str, ...]
    raw: dict[str, Any]


@dataclass(frozen=True)
class Blueprint:
    preamble: dict[str, Any]
    validators: dict[str, BlueprintValidator]

    def validator(self, title: str) -> BlueprintValidator:
        try:
            return self.validators[title]
        except KeyError:
            raise UserInputError(
                f"blueprint has no validator {title!r}",
                hint="rebuild it with `python -m runner.contract.build`",
            ) from None


def load_blueprint(path: Path | None = None) -> Blueprint:
    """Read plutus.json (the committed one by default)."""
    path = path or BLUEPRINT_PATH
    try:
        data = json.loads(path.read_text())
        validators = {
            v["title"]: BlueprintValidator(
                title=v["title"],
                compiled_code=bytes.fromhex(v["compiledCode"]),
                hash=v["hash"],
                parameters=tuple(p["title"] for p in v.get("parameters", [])),
                raw=v,
            )
            for v in data["validators"]
        }
        return Blueprint(preamble=data["preamble"], validators=validators)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserInputError(
            f"cannot read the contract blueprint: {exc}",
            location=str(path),
            hint="rebuild it with `python -m runner.contract.build`",
        ) from exc


@dataclass(frozen=True)
class SeedRef:
    """The one-shot output reference the register transaction spends."""

    tx_id: bytes
    index: int

    def to_plutus(self) -> pycardano.PlutusData:
        from runner.contract.datums import PlutusTxOutRef

        return PlutusTxOutRef(self.tx_id, self.index)


@dataclass(frozen=True)
class ScheduleParameters:
    """Everything that fixes a schedule's scripts (and so its addresses)."""

    seed: SeedRef
    owner: bytes
    oracles: tuple[bytes, ...]
    quorum: int
    expiry_ms: int
    token_policy: bytes
    token_name: bytes

    def validate(self) -> None:
        """Refuse parameters that would make a schedule unsafe or unusable."""
        problems = []
        if len(self.seed.tx_id) != 32 or self.seed.index < 0:
            problems.append("seed must be a 32-byte tx id and a non-negative index")
        if len(self.owner) != KEY_HASH_SIZE:
            problems.append("owner must be a 28-byte payment key hash")
        if any(len(o) != KEY_HASH_SIZE for o in self.oracles):
            problems.append("every oracle must be a 28-byte payment key hash")
        if len(set(self.oracles)) != len(self.oracles):
            problems.append("oracles must be distinct")
        if not 1 <= self.quorum <= len(self.oracles):
            problems.append(f"quorum must be between 1 and {len(self.oracles)}")
        if len(self.token_policy) != KEY_HASH_SIZE or len(self.token_name) > 32:
            problems.append("token must be a native asset (28-byte policy, name <= 32 bytes)")
        if problems:
            raise UserInputError(
                "invalid schedule parameters: " + "; ".join(problems),
                hint="fix the schedule's oracles/quorum/owner/token in the plan",
            )


@dataclass(frozen=True)
class ScheduleScripts:
    """The three applied scripts of one schedule, with their hashes."""

    certificate_policy: pycardano.PlutusV3Script
    batch_release: pycardano.PlutusV3Script
    spend_forwarder: pycardano.PlutusV3Script

    @property
    def certificate_policy_id(self) -> bytes:
        return bytes(pycardano.plutus_script_hash(self.certificate_policy))

    @property
    def batch_hash(self) -> bytes:
        return bytes(pycardano.plutus_script_hash(self.batch_release))

    @property
    def forwarder_hash(self) -> bytes:
        return bytes(pycardano.plutus_script_hash(self.spend_forwarder))

    def allocation_address(self, network: pycardano.Network) -> pycardano.Address:
        """Where allocations are locked (no stake credential)."""
        return pycardano.Address(pycardano.ScriptHash(self.forwarder_hash), network=network)

    def certificate_address(self, network: pycardano.Network) -> pycardano.Address:
        """Where certificates are locked forever (the policy fails for spending)."""
        return pycardano.Address(pycardano.ScriptHash(self.certificate_policy_id), network=network)

    def batch_reward_address(self, network: pycardano.Network) -> pycardano.Address:
        """The stake address whose zero withdrawal runs the batch validator."""
        return pycardano.Address(staking_part=pycardano.ScriptHash(self.batch_hash), network=network)


def schedule_scripts(params: ScheduleParameters, blueprint: Blueprint | None = None) -> ScheduleScripts:
    """Apply a schedule's parameters to the blueprint's three scripts."""
    params.validate()
    bp = blueprint or load_blueprint()
    oracles = b"".join(params.oracles)
    cert = apply_parameters(
        bp.validator("certificate_policy").compiled_code, params.seed.to_plutus(), oracles, params.quorum
    )
    cert_id = bytes.fromhex(script_hash_hex(cert))
    batch = apply_parameters(
        bp.validator("batch_release").compiled_code,
        cert_id,
        params.owner,
        params.expiry_ms,
        params.token_policy,
        params.token_name,
    )
    forwarder = apply_parameters(
        bp.validator("spend_forwarder").compiled_code, bytes.fromhex(script_hash_hex(batch))
    )
    # pycardano (like the ledger) hashes the singly CBOR-wrapped flat bytes
    return ScheduleScripts(
        pycardano.PlutusV3Script(cert),
        pycardano.PlutusV3Script(batch),
        pycardano.PlutusV3Script(forwarder),
    )
