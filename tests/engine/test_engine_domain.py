"""The pure domain: allocations, oracles, quorum, signatures and claims, with every bad input named."""

from __future__ import annotations

import hashlib
import json

import pycardano as pc
import pytest

from runner.contract.datums import certificate_message as contract_message
from runner.domain import claims
from runner.domain.problems import BadInput, Problems
from runner.domain.schedule import (
    Allocation,
    ScheduleDefinition,
    canonical_network,
    check_against_clock,
    check_quorum,
    parse_allocations,
    parse_oracles,
)
from runner.domain.signatures import (
    certificate_message,
    parse_signatures,
    sign_message,
    verify,
)
from runner.domain.signatures import (
    check_quorum as check_signature_quorum,
)


def key(name: str) -> pc.PaymentSigningKey:
    return pc.PaymentSigningKey(hashlib.sha256(name.encode()).digest())


def addr(name: str, network: pc.Network = pc.Network.TESTNET) -> str:
    return str(pc.Address(key(name).to_verification_key().hash(), network=network))


def entry(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {"beneficiary_address": addr("ben"), "token_amount": 1000,
                               "milestone_identifier": "milestone-001", "vesting_timestamp": 1735689600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def problems_of(items: object, network: str = "devnet") -> list[str]:
    problems = Problems()
    parse_allocations(json.dumps(items), "allocations.json", network, problems)
    return [f"{p.location}: {p.message}" for p in problems.items]


def test_the_guides_seconds_become_milliseconds_and_ms_is_explicit():
    problems = Problems()
    found = parse_allocations(json.dumps([entry(), entry(milestone_identifier="m2", vesting_timestamp=None,
                                                         vesting_time_ms=5)]), "a.json", "devnet", problems)
    assert not problems
    assert [a.vesting_ms for a in found] == [1735689600_000, 5]


@pytest.mark.parametrize(("items", "expected"), [
    ([entry(token_amount=0)], "$[0].token_amount"),
    ([entry(token_amount=-5)], "$[0].token_amount"),
    ([entry(token_amount=1.5)], "$[0].token_amount"),
    ([entry(token_amount=2**63)], "$[0].token_amount"),
    ([entry(beneficiary_address="addr_test1qqqq")], "$[0].beneficiary_address"),
    ([entry(beneficiary_address=addr("ben", pc.Network.MAINNET))], "$[0].beneficiary_address"),
    ([entry(), entry(token_amount=5)], "$[1].milestone_identifier"),
    ([entry(vesting_timestamp=1735689600000)], "$[0].vesting_timestamp"),
    ([entry(milestone_identifier="")], "$[0].milestone_identifier"),
    ([entry(milestone_identifier="x" * 33)], "$[0].milestone_identifier"),
    ([entry(vesting_time_ms=1)], "$[0].vesting_timestamp"),
])
def test_each_bad_allocation_is_named_by_file_entry_and_field(items, expected):
    found = problems_of(items)
    assert len(found) == 1 and found[0].startswith(f"allocations.json: {expected}"), found


def test_a_script_address_is_refused_where_a_key_is_required():
    script = str(pc.Address(pc.ScriptHash(bytes(28)), network=pc.Network.TESTNET))
    assert "script address" in problems_of([entry(beneficiary_address=script)])[0]


def test_all_problems_are_reported_at_once_sorted_by_entry():
    problems = Problems()
    parse_allocations(json.dumps([entry(token_amount=0)] * 2 + [entry()] * 10 + [entry(token_amount=-1)]),
                      "a.json", "devnet", problems)
    with pytest.raises(BadInput) as caught:
        problems.raise_if_any()
    locations = [p.location for p in caught.value.problems]
    assert locations[0] == "a.json: $[0].token_amount" and locations[-1] == "a.json: $[12].token_amount"
    assert caught.value.exit_code == 2 and "problems" in caught.value.to_dict()


def test_malformed_json_names_line_and_column():
    problems = Problems()
    parse_allocations('[{"token_amount": 1,}]', "a.json", "devnet", problems)
    assert "line 1" in problems.items[0].message


def test_oracles_duplicates_and_quorum_bounds():
    problems = Problems()
    oracles = parse_oracles([addr("o1"), addr("o2"), addr("o1")], "preview", problems)
    assert len(oracles) == 2 and "duplicate oracle" in problems.items[0].message
    for quorum in (0, 3):
        p = Problems()
        check_quorum(quorum, len(oracles), p)
        assert p.items and p.items[0].where == "--quorum-threshold"


def test_testnet_is_an_alias_of_preprod():
    assert canonical_network("testnet") == "preprod"


def definition(allocations: list[Allocation], expiry_ms: int = 10**13) -> ScheduleDefinition:
    problems = Problems()
    return ScheduleDefinition("devnet", tuple(allocations), tuple(parse_oracles([addr("o1")], "devnet", problems)),
                              1, bytes(28), bytes(28), b"T", expiry_ms)


def test_vesting_in_the_past_is_refused_against_the_chain_clock():
    d = definition([Allocation(addr("b"), 1, "m", 1000)])
    problems = Problems()
    check_against_clock(d, now_ms=5000, problems=problems, where="a.json")
    assert problems.items[0].field == "vesting_timestamp"


def test_the_certificate_message_is_the_contracts():
    assert certificate_message(b"\x01" * 28, b"m1") == contract_message(b"\x01" * 28, b"m1")


def signatures_file(message: bytes, names: list[str], *, data: bytes | None = None) -> str:
    out = []
    for name in names:
        vkey, sig = sign_message(key(name).payload, message)
        out.append({"oracle_address": addr(name), "verification_key": vkey.hex(), "signature": sig.hex(),
                    "signed_data": (data or message).hex(), "signature_timestamp": 1})
    return json.dumps(out)


def check(text: str, quorum: int) -> tuple[Problems, object]:
    problems = Problems()
    oracles = parse_oracles([addr("o1"), addr("o2"), addr("o3")], "devnet", problems)
    message = certificate_message(b"\x02" * 28, b"m1")
    verified = verify(parse_signatures(text, "s.json", "devnet", problems), message, oracles, problems, "s.json")
    check_signature_quorum(verified, quorum, problems, "s.json")
    return problems, verified


def test_quorum_of_valid_oracle_signatures_is_accepted():
    problems, verified = check(signatures_file(certificate_message(b"\x02" * 28, b"m1"), ["o1", "o3"]), 2)
    assert not problems and len(verified.accepted) == 2  # type: ignore[attr-defined]


def test_non_oracles_and_duplicates_are_ignored_and_then_the_quorum_fails():
    message = certificate_message(b"\x02" * 28, b"m1")
    problems, verified = check(signatures_file(message, ["o1", "o1", "stranger"]), 2)
    assert [i.reason.split()[0] for i in verified.ignored] == ["duplicate", addr("stranger")]  # type: ignore[attr-defined]
    assert "quorum is 2" in problems.items[0].message


def test_a_signature_over_another_message_or_malformed_is_a_problem():
    other = certificate_message(b"\x02" * 28, b"m2")
    problems, _ = check(signatures_file(other, ["o1"]), 1)
    assert problems.items[0].field == "signed_data"
    bad = json.loads(signatures_file(certificate_message(b"\x02" * 28, b"m1"), ["o1"]))
    bad[0]["signature"] = "zz"
    problems, _ = check(json.dumps(bad), 1)
    assert problems.items[0].field == "signature"


def test_claim_reasons():
    a = Allocation("b", 5, "m1", 1000)
    facts = claims.ChainFacts(True, frozenset({("b", "m1")}), frozenset({"m1"}), 2000, 10**9)
    assert claims.status_of(a, facts) is claims.Reason.CLAIMABLE
    assert claims.status_of(a, claims.ChainFacts(True, facts.locked, frozenset(), 2000, 10**9)).value == "not certified"
    assert claims.status_of(a, claims.ChainFacts(True, facts.locked, facts.certified, 10, 10**9)).value == \
        "vesting in the future"
    assert claims.status_of(a, claims.ChainFacts(True, frozenset(), facts.certified, 2000, 10**9)).value == \
        "already released"
    assert claims.status_of(a, claims.ChainFacts(True, frozenset(), facts.certified, 2000, 10, frozenset({("b", "m1")}))).value == \
        "reclaimed"
