"""The guide's ``submit-release --beneficiary-index``: a beneficiary's position (from 0) in a
milestone's allocations, in the contract's order (the milestone's pots by vesting time, a pot's
datum entries as locked); ``calculate-distribution`` shows it.  It selects that beneficiary's
allocation of the milestone (its pot), agrees with ``--beneficiary-address`` or is refused
(exit 2, flag + hint, nothing released), and needs ``--milestone-identifier``.  On the embedded
devnet's real ledger, through the CLI."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_cli_quickstart import Guide, _ModuleCapture

M1, M2 = "milestone-001", "milestone-002"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    guide = Guide(tmp_path_factory.mktemp("index"), _ModuleCapture())  # type: ignore[arg-type]
    b1, b2 = guide.addr["b1"], guide.addr["b2"]
    allocations = guide.allocations([  # milestone-001: two pots (two vesting times); 002: one pot of two
        {"beneficiary_address": b1, "token_amount": 1_000_000, "milestone_identifier": M1, "vesting_timestamp": 100_000},
        {"beneficiary_address": b2, "token_amount": 1_500_000, "milestone_identifier": M1, "vesting_timestamp": 150_000},
        {"beneficiary_address": b2, "token_amount": 500_000, "milestone_identifier": M2, "vesting_timestamp": 200_000},
        {"beneficiary_address": b1, "token_amount": 500_000, "milestone_identifier": M2, "vesting_timestamp": 200_000},
    ])
    registered = guide.register(guide.fund(), allocations)
    assert registered.code == 0, registered.err
    contract = registered.json()["contract_address"]
    for milestone in (M1, M2):
        guide.sign(contract, milestone, "o1")
        guide.sign(contract, milestone, "o3")
        assert guide.commit(milestone).code == 0
    guide.run("advance-time", "--to-ms", "200001000")
    return {"guide": guide, "contract": contract, "datums": registered.json()["datums"]}


def distribution(world: dict[str, Any], who: str) -> dict[str, Any]:
    guide = world["guide"]
    found = guide.run("calculate-distribution", "--contract-address", world["contract"],
                      "--beneficiary-address", guide.addr[who])
    assert found.code == 0, found.err
    return {a["milestone_identifier"]: a for a in found.json()["allocations"]}


def test_calculate_distribution_shows_each_allocations_index_in_the_contracts_order(world):
    guide = world["guide"]
    m2_entries = next(d["entries"] for d in world["datums"] if d["milestone_identifier"] == M2)
    m2_order = [e["beneficiary_address"] for e in m2_entries]  # as the pot's datum holds them
    for who in ("b1", "b2"):
        shown = distribution(world, who)
        assert shown[M2]["beneficiary_index"] == m2_order.index(guide.addr[who])
    assert distribution(world, "b1")[M1]["beneficiary_index"] == 0  # the earlier pot of milestone-001
    assert distribution(world, "b2")[M1]["beneficiary_index"] == 1


@pytest.mark.parametrize(("extra", "says"), [
    (["--beneficiary-index", "1", "--milestone-identifier", M1, "--beneficiary-address", "b1"], "is addr_test"),
    (["--beneficiary-index", "2", "--milestone-identifier", M1], "has 2 allocation(s) on chain, so no index 2"),
    (["--beneficiary-index", "0", "--beneficiary-address", "b1"], "counts within one milestone"),
])
def test_an_index_that_names_no_or_another_beneficiary_is_refused_and_releases_nothing(world, extra, says):
    guide = world["guide"]
    args = [guide.addr.get(a, a) for a in extra]
    refused = guide.release(world["contract"], *args)
    assert refused.code == 2 and "Traceback" not in refused.err, refused.err
    assert says in refused.err and "--beneficiary-index" in refused.err and "hint" in refused.err.lower()
    assert {m: a["reason"] for m, a in distribution(world, "b1").items()} == {M1: "claimable", M2: "claimable"}


def test_the_index_releases_that_beneficiarys_allocation_only_then_says_already_released(world):
    guide = world["guide"]
    first = guide.release(world["contract"], "--beneficiary-index", "1", "--milestone-identifier", M1)
    assert first.code == 0, first.err
    value = first.json()
    assert value["status"] == "confirmed"
    assert [(a["beneficiary_address"], a["milestone_identifier"]) for a in value["allocations"]] == [
        (guide.addr["b2"], M1)]
    assert distribution(world, "b2")[M1]["reason"] == "already released"
    assert distribution(world, "b1")[M1]["reason"] == "claimable"  # the other pot of the milestone stays
    again = guide.release(world["contract"], "--beneficiary-index", "1", "--milestone-identifier", M1,
                          "--beneficiary-address", guide.addr["b2"])
    assert again.code == 0 and again.json()["status"] == "already released"
