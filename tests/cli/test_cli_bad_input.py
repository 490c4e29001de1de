"""Bad input: each case names the file, the entry and the field, exits 2, and neither
writes to the data directory nor submits anything (the devnet's tip does not move)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pycardano as pc
import pytest

from runner.domain.signatures import sign_message
from runner.testing.cli_guide import Guide
from runner.testing.cli_guide import ModuleCapture as _ModuleCapture

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    guide = Guide(tmp_path_factory.mktemp("bad"), _ModuleCapture())  # type: ignore[arg-type]
    policy = guide.fund()
    registered = guide.register(policy, guide.allocations())
    assert registered.code == 0, registered.err
    return {"guide": guide, "policy": policy, "contract": registered.json()["contract_address"]}


def tip(guide: Guide) -> Any:
    status = guide.run("lock", "list")
    assert status.code == 0
    return json.loads(guide.run("init").out)["services"]["cardano_node"]["tip_slot"]


def refused(guide: Guide, result: Any, *where: str) -> dict[str, Any]:
    assert result.code == 2, (result.out, result.err)
    error = json.loads(result.err.strip().splitlines()[-1])["error"]
    text = json.dumps(error)
    for fragment in where:
        assert fragment in text, (fragment, error)
    assert "Traceback" not in result.err
    return error


def entry(guide: Guide, **overrides: Any) -> dict[str, Any]:
    base = {"beneficiary_address": guide.addr["b1"], "token_amount": 5, "milestone_identifier": "m-x",
            "vesting_timestamp": 9_000_000}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


SCRIPT_ADDRESS = str(pc.Address(pc.ScriptHash(bytes(28)), network=pc.Network.TESTNET))
MAINNET_ADDRESS = str(pc.Address(pc.VerificationKeyHash(bytes(28)), network=pc.Network.MAINNET))

ALLOCATION_CASES = {
    "zero amount": ({"token_amount": 0}, "$[0].token_amount"),
    "negative amount": ({"token_amount": -3}, "$[0].token_amount"),
    "non-integer amount": ({"token_amount": "12"}, "$[0].token_amount"),
    "over-supply amount": ({"token_amount": 10**12}, "token_amount"),
    "invalid bech32": ({"beneficiary_address": "addr_test1qxyz"}, "$[0].beneficiary_address"),
    "wrong network": ({"beneficiary_address": MAINNET_ADDRESS}, "$[0].beneficiary_address"),
    "script address for a key": ({"beneficiary_address": SCRIPT_ADDRESS}, "$[0].beneficiary_address"),
    "vesting in the past": ({"vesting_timestamp": 0}, "$[0].vesting_timestamp"),
}


@pytest.mark.parametrize("case", sorted(ALLOCATION_CASES))
def test_a_bad_allocation_is_refused_with_its_location(world, case):
    guide: Guide = world["guide"]
    change, where = ALLOCATION_CASES[case]
    path = guide.allocations([entry(guide, **change)], name=f"bad-{case.replace(' ', '-')}.json")
    before, journal = tip(guide), sorted((guide.data / "journal").iterdir())
    refused(guide, guide.register(world["policy"], path), path.name, where)
    assert tip(guide) == before and sorted((guide.data / "journal").iterdir()) == journal


def test_malformed_json_and_duplicates_are_refused(world, tmp_path):
    guide: Guide = world["guide"]
    bad = tmp_path / "broken.json"
    bad.write_text('[{"token_amount": 1,}]')
    refused(guide, guide.register(world["policy"], bad), "broken.json", "not valid JSON")
    dup = guide.allocations([entry(guide), entry(guide, token_amount=9)], name="dup.json")
    refused(guide, guide.register(world["policy"], dup), "dup.json", "$[1].milestone_identifier", "duplicate")


@pytest.mark.parametrize(("quorum", "oracles"), [("0", "o1,o2"), ("3", "o1,o2"), ("1", "o1,o1")])
def test_quorum_out_of_range_and_duplicate_oracles_are_refused(world, quorum, oracles):
    guide: Guide = world["guide"]
    result = guide.run("register-milestone", "--token-policy-id", world["policy"], "--token-name", "GRANT",
                       "--beneficiary-allocations", str(guide.allocations(name="ok.json")),
                       "--oracle-addresses", ",".join(guide.addr[o] for o in oracles.split(",")),
                       "--quorum-threshold", quorum, "--owner-key", str(guide.folder / "owner.skey"))
    refused(guide, result, "--")


def write_signatures(guide: Guide, name: str, rows: list[dict[str, Any]]) -> None:
    (guide.folder / f"sigs-{name}.json").write_text(json.dumps(rows))


def signature_row(guide: Guide, oracle: str, message: bytes, *, signed: bytes | None = None) -> dict[str, Any]:
    sk = pc.PaymentSigningKey.load(str(guide.folder / f"{oracle}.skey"))
    vkey, sig = sign_message(bytes(sk.payload), signed or message)
    return {"oracle_address": guide.addr[oracle], "verification_key": vkey.hex(), "signature": sig.hex(),
            "signed_data": (signed or message).hex(), "signature_timestamp": 1}


def message(world: dict[str, Any], milestone: str) -> bytes:
    guide: Guide = world["guide"]
    guide.sign(world["contract"], milestone, "o1")
    return bytes.fromhex(json.loads((guide.folder / f"sigs-{milestone}.json").read_text())[0]["signed_data"])


def test_signatures_from_non_oracles_and_duplicates_leave_the_quorum_unmet(world):
    guide: Guide = world["guide"]
    msg = message(world, "milestone-001")
    write_signatures(guide, "milestone-001", [signature_row(guide, "o1", msg), signature_row(guide, "o1", msg),
                                              signature_row(guide, "b1", msg)])
    error = refused(guide, guide.commit("milestone-001", "--contract-address", world["contract"]),
                    "sigs-milestone-001.json", "quorum is 2", "duplicate", "not one of the schedule's oracles")
    assert error["code"] == "bad-input"
    assert not (guide.data / "milestones" / "milestone-001.json").exists()


def test_a_signature_over_another_message_or_malformed_is_refused(world):
    guide: Guide = world["guide"]
    msg = message(world, "milestone-001")
    other = msg[:-1] + b"2"
    write_signatures(guide, "milestone-001", [signature_row(guide, "o1", msg, signed=other),
                                              {**signature_row(guide, "o2", msg), "signature": "00"}])
    refused(guide, guide.commit("milestone-001", "--contract-address", world["contract"]),
            "$[0].signed_data", "$[1].signature")


def test_an_unknown_milestone_is_refused(world):
    guide: Guide = world["guide"]
    msg = message(world, "milestone-001")
    write_signatures(guide, "nope", [signature_row(guide, "o1", msg)])
    refused(guide, guide.commit("nope", "--contract-address", world["contract"]), "--milestone-identifier",
            "unknown milestone")


def test_a_missing_key_file_is_named_and_its_content_never_shown(world, tmp_path):
    guide: Guide = world["guide"]
    bad = tmp_path / "bad.skey"
    bad.write_text('{"type": "x", "cborHex": "5820' + "ab" * 32 + '"}')
    result = guide.run("submit-release", "--contract-address", world["contract"], "--all",
                       "--signing-key-path", str(bad))
    refused(guide, result, "--signing-key-path")
    assert "ab" * 32 not in result.err
    assert Path(bad).exists()
