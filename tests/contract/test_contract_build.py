"""The committed blueprint is what the sources compile to, and the off-chain mirrors fit it.

Includes a small CIP-57 schema checker for Plutus data (constructor / bytes / integer /
list / map / anyOf / {}), run on the CBOR the mirrors really produce.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cbor2
import pycardano as pc
import pytest
import uplc

from runner.contract import build
from runner.contract.blueprint import (
    BLUEPRINT_PATH,
    PROGRAM_VERSION,
    ScheduleParameters,
    SeedRef,
    apply_parameters,
    forwarder_hash_frame,
    schedule_scripts,
    script_hash_hex,
)
from runner.contract.datums import (
    CertificateDatum,
    Forward,
    NoOutputDatum,
    PlutusTxOutRef,
    PotDatum,
    PotEntry,
    Reclaim,
    Release,
    SignatureEntry,
    SomeOutputDatum,
    SomeOutputDatumHash,
    certificate_message,
    from_plutus_address,
    to_plutus_address,
)
from runner.errors import UserInputError

# A fixed schedule whose three script hashes are pinned: a change in the compiler path
# (OpShin version, optimisation level, program version, parameter application) shows here.
PINNED_SCHEDULE = ScheduleParameters(
    seed=SeedRef(bytes(range(32)), 1),
    owner=bytes([1]) * 28,
    oracles=(bytes([2]) * 28, bytes([3]) * 28, bytes([4]) * 28),
    quorum=2,
    expiry_ms=1_800_000_000_000,
    token_policy=bytes([5]) * 28,
    token_name=b"GRANT",
)
PINNED_HASHES = {
    "certificate_policy": "68ea806546ec1580aa0f600e07c25b39018a57416604a2e93e7c3b89",
    "batch_release": "a07924e4090e7cc294853b136cbab9ea659bbfd3aaa26ec4ee014b5a",
    "spend_forwarder": "01fa57701382afee7507cf1435ece4f26517234337ca4580b4a9ad14",
}


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    return build.build_blueprint()


@pytest.fixture(scope="module")
def blueprint() -> dict[str, Any]:
    return json.loads(BLUEPRINT_PATH.read_text())


def validator(bp: dict[str, Any], title: str) -> dict[str, Any]:
    return next(v for v in bp["validators"] if v["title"] == title)


# ----------------------------------------------------------------------------- staleness


def test_committed_blueprint_equals_a_fresh_build(fresh: dict[str, Any]) -> None:
    assert BLUEPRINT_PATH.read_text() == build.render(fresh), "run `python -m runner.contract.build`"


def test_check_mode_fails_on_a_stale_blueprint(tmp_path: Path, fresh: dict[str, Any]) -> None:
    stale = tmp_path / "plutus.json"
    stale.write_text(build.render(fresh).replace(validator(fresh, "spend_forwarder")["hash"], "0" * 56))
    assert build.main(["--check", "--output", str(stale)]) == 1
    stale.write_text(build.render(fresh))
    assert build.main(["--check", "--output", str(stale)]) == 0


def test_blueprint_records_compiler_and_plutus_version(blueprint: dict[str, Any]) -> None:
    assert blueprint["preamble"]["plutusVersion"] == "v3"
    assert blueprint["preamble"]["compiler"] == {"name": "opshin", "version": build.PINNED_OPSHIN}


def test_every_script_is_a_program_of_the_pinned_version_under_4_kb(blueprint: dict[str, Any]) -> None:
    for v in blueprint["validators"]:
        code = bytes.fromhex(v["compiledCode"])
        assert uplc.unflatten(code).version == PROGRAM_VERSION
        assert script_hash_hex(code) == v["hash"]
        assert len(code) <= 4096, f"{v['title']} is {len(code)} bytes"


def test_pinned_schedule_hashes() -> None:
    scripts = schedule_scripts(PINNED_SCHEDULE)
    assert {
        "certificate_policy": scripts.certificate_policy_id.hex(),
        "batch_release": scripts.batch_hash.hex(),
        "spend_forwarder": scripts.forwarder_hash.hex(),
    } == PINNED_HASHES


def test_schedules_differing_only_in_the_seed_get_different_addresses() -> None:
    import dataclasses

    a = schedule_scripts(PINNED_SCHEDULE)
    b = schedule_scripts(dataclasses.replace(PINNED_SCHEDULE, seed=SeedRef(bytes(range(32)), 2)))
    assert a.forwarder_hash != b.forwarder_hash and a.certificate_policy_id != b.certificate_policy_id


def test_applying_no_parameter_keeps_the_script_byte_for_byte(blueprint: dict[str, Any]) -> None:
    for v in blueprint["validators"]:
        code = bytes.fromhex(v["compiledCode"])
        assert apply_parameters(code) == code


def test_batch_validator_derives_the_forwarder_hash_from_its_own(blueprint: dict[str, Any]) -> None:
    forwarder = bytes.fromhex(validator(blueprint, "spend_forwarder")["compiledCode"])
    prefix, suffix = forwarder_hash_frame(forwarder)
    batch_hash = hashlib.sha256(b"any batch").digest()[:28]
    expected = script_hash_hex(apply_parameters(forwarder, batch_hash))
    assert hashlib.blake2b(prefix + batch_hash + suffix, digest_size=28).hexdigest() == expected


def test_invalid_schedule_parameters_are_refused_with_every_problem() -> None:
    import dataclasses

    bad = dataclasses.replace(PINNED_SCHEDULE, oracles=(bytes(28), bytes(28)), quorum=3, owner=b"x")
    with pytest.raises(UserInputError) as err:
        schedule_scripts(bad)
    assert "distinct" in err.value.message and "quorum" in err.value.message and "owner" in err.value.message


# ----------------------------------------------------------------------------- schemas


class SchemaMismatch(AssertionError):
    pass


def check(schema: dict[str, Any], value: Any, path: str = "$") -> None:
    """Validate decoded Plutus-data CBOR (cbor2 objects) against a CIP-57 schema."""
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                check(option, value, path)
                return
            except SchemaMismatch:
                continue
        raise SchemaMismatch(f"{path}: no alternative of anyOf matches {value!r}")
    kind = schema.get("dataType")
    if kind is None:
        return  # {} = any data
    if kind == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise SchemaMismatch(f"{path}: expected integer, got {value!r}")
    if kind == "bytes" and not isinstance(value, bytes):
        raise SchemaMismatch(f"{path}: expected bytes, got {value!r}")
    if kind == "list":
        if not isinstance(value, list):
            raise SchemaMismatch(f"{path}: expected list, got {value!r}")
        for i, item in enumerate(value):
            check(schema.get("items", {}), item, f"{path}[{i}]")
    if kind == "map":
        if not isinstance(value, dict):
            raise SchemaMismatch(f"{path}: expected map, got {value!r}")
        for k, v in value.items():
            check(schema.get("keys", {}), k, f"{path}.key")
            check(schema.get("values", {}), v, f"{path}[{k!r}]")
    if kind == "constructor":
        index, fields = constructor(value, path)
        if index != schema["index"] or len(fields) != len(schema["fields"]):
            raise SchemaMismatch(f"{path}: expected constructor {schema['index']}/{len(schema['fields'])}")
        for field_schema, field in zip(schema["fields"], fields):
            check(field_schema, field, f"{path}.{field_schema.get('title', '?')}")


def constructor(value: Any, path: str) -> tuple[int, list[Any]]:
    if isinstance(value, cbor2.CBORTag):
        if 121 <= value.tag <= 127:
            return value.tag - 121, list(value.value)
        if 1280 <= value.tag <= 1400:
            return value.tag - 1280 + 7, list(value.value)
        if value.tag == 102:
            return value.value[0], list(value.value[1])
    raise SchemaMismatch(f"{path}: expected a constructor, got {value!r}")


def decoded(data: pc.PlutusData) -> Any:
    return cbor2.loads(data.to_cbor())


ALICE = pc.Address(
    pc.VerificationKeyHash(bytes(28)), pc.VerificationKeyHash(bytes([9]) * 28), network=pc.Network.TESTNET
)
SAMPLES = {
    ("spend_forwarder", "datum"): PotDatum(b"m1", 1_700_000_000_000, [PotEntry(to_plutus_address(ALICE), 1000)],
                                           NoOutputDatum()),
    ("spend_forwarder", "datum/hash"): PotDatum(b"m1", 1, [], SomeOutputDatumHash(bytes(32))),
    ("spend_forwarder", "datum/inline"): PotDatum(b"m1", 1, [], SomeOutputDatum(7)),
    ("spend_forwarder", "redeemer"): Forward(),
    ("certificate_policy", "redeemer"): CertificateDatum(b"m1", [SignatureEntry(0, bytes(32), bytes(64))]),
    ("batch_release", "redeemer"): Release(),
    ("batch_release", "redeemer/reclaim"): Reclaim(),
    ("certificate_policy", "parameter/seed"): PlutusTxOutRef(bytes(32), 0),
}


def schema_of(bp: dict[str, Any], title: str, slot: str) -> dict[str, Any]:
    v = validator(bp, title)
    if slot.startswith("parameter/"):
        name = slot.removeprefix("parameter/")
        return next(p["schema"] for p in v["parameters"] if p["title"] == name)
    return v[slot.split("/")[0]]["schema"]


@pytest.mark.parametrize("key", list(SAMPLES), ids=["/".join(k) for k in SAMPLES])
def test_mirror_round_trips_against_the_blueprint_schema(
    blueprint: dict[str, Any], key: tuple[str, str]
) -> None:
    sample = SAMPLES[key]
    check(schema_of(blueprint, *key), decoded(sample))
    assert type(sample).from_cbor(sample.to_cbor()) == sample


def test_every_datum_redeemer_and_parameter_schema_is_filled_in(blueprint: dict[str, Any]) -> None:
    for v in blueprint["validators"]:
        assert v["redeemer"]["schema"], v["title"]
        assert v["parameters"] and all(p["schema"] for p in v["parameters"]), v["title"]
    assert validator(blueprint, "spend_forwarder")["datum"]["schema"]["fields"]


def test_schema_checker_rejects_wrong_types(blueprint: dict[str, Any]) -> None:
    wrong = PotDatum(b"m1", 1, [PotEntry(to_plutus_address(ALICE), 1000)], NoOutputDatum())
    schema = schema_of(blueprint, "spend_forwarder", "datum")
    raw = decoded(wrong)
    raw.value[2][0].value[1] = b"1000"  # amount as bytes
    with pytest.raises(SchemaMismatch):
        check(schema, raw)
    raw = decoded(wrong)
    address = raw.value[2][0].value[0]
    raw.value[2][0].value[0] = cbor2.CBORTag(121, [b"not a credential", address.value[1]])
    with pytest.raises(SchemaMismatch):
        check(schema, raw)
    raw = decoded(wrong)
    raw.value[3] = cbor2.CBORTag(124, [])  # payout datum constructor 3 does not exist
    with pytest.raises(SchemaMismatch):
        check(schema, raw)
    with pytest.raises(SchemaMismatch):  # constructor 2 is neither Release nor Reclaim
        check(schema_of(blueprint, "batch_release", "redeemer"), cbor2.CBORTag(123, []))


def test_plutus_address_round_trips_through_pycardano() -> None:
    for address in (ALICE, pc.Address(pc.ScriptHash(bytes([7]) * 28), network=pc.Network.TESTNET)):
        assert from_plutus_address(to_plutus_address(address), pc.Network.TESTNET) == address


def test_certificate_message_is_tag_policy_milestone() -> None:
    policy = bytes([7]) * 28
    assert certificate_message(policy, b"m-1") == b"milestones:cert:v1" + policy + b"m-1"
    with pytest.raises(ValueError):
        certificate_message(b"short", b"m-1")
