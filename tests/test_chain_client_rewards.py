"""``queryLedgerState/rewardAccountSummaries``: the request is Ogmios v6.14's, the answer
is read as untrusted (shape, credentials asked for, possible amounts).  The malformed answers
are faked at the transport (a ``call`` function); well-formed ones are Ogmios' own vectors
and the devnet's real ledger (tests/test_engine_rewards.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft7Validator

from runner.chain.backend import RewardAccount
from runner.chain.ogmios import OgmiosClient
from runner.chain.ogmios_rewards import MAX_LOVELACE
from runner.errors import ProtocolError
from tests.test_chain_client import OGMIOS_SCHEMAS, FakeOgmios, first_success

METHOD = "queryLedgerState/rewardAccountSummaries"
SCRIPT = "2419826aaedc8cf163a6c0c669c1f96ac354d1b690b2631c079ff741"
OTHER = "496eaa2b90d5e78da8cab94d6d775790b166243841b798052e4f25d5"


def summary(**changes: Any) -> dict[str, Any]:
    found = {"from": "script", "credential": SCRIPT, "rewards": {"ada": {"lovelace": 995879}},
             "deposit": {"ada": {"lovelace": 2_000_000}}}
    found.update(changes)
    return found


def answering(result: Any) -> FakeOgmios:
    return FakeOgmios({METHOD: {"jsonrpc": "2.0", "method": METHOD, "result": result, "id": None}})


def test_the_request_is_valid_under_the_ogmios_schema_and_names_the_credentials() -> None:
    fake = answering([summary()])
    OgmiosClient(fake).reward_accounts(scripts=[SCRIPT], keys=[OTHER])
    [request] = fake.requests
    assert request["params"] == {"scripts": [SCRIPT], "keys": [OTHER]}
    validator = Draft7Validator({"$ref": "ogmios.json#/properties/QueryLedgerStateRewardAccountSummaries"},
                                registry=OGMIOS_SCHEMAS)
    assert not list(validator.iter_errors(request))


def test_an_ogmios_vector_is_read_into_accounts() -> None:
    vector = first_success("QueryLedgerStateRewardAccountSummaries")
    asked = [s["credential"] for s in vector["result"]]
    kinds = {s["from"] for s in vector["result"]}
    fake = FakeOgmios({METHOD: vector})
    found = OgmiosClient(fake).reward_accounts(scripts=asked if "script" in kinds else [],
                                               keys=asked if "verificationKey" in kinds else [])
    assert [a.credential for a in found] == asked
    first = vector["result"][0]
    assert found[0] == RewardAccount(first["credential"], first["from"] == "script",
                                     first["rewards"]["ada"]["lovelace"], first["deposit"]["ada"]["lovelace"],
                                     first.get("stakePool", {}).get("id"))


def test_a_well_formed_answer_for_our_credential_is_returned() -> None:
    [account] = OgmiosClient(answering([summary()])).reward_accounts(scripts=[SCRIPT])
    assert account == RewardAccount(SCRIPT, True, 995879, 2_000_000, None)
    assert OgmiosClient(answering([])).reward_accounts(scripts=[SCRIPT]) == []


def test_asking_about_nothing_sends_nothing() -> None:
    fake = answering([])
    assert OgmiosClient(fake).reward_accounts() == [] and fake.requests == []


@pytest.mark.parametrize(("result", "names"), [
    ({"not": "a list"}, "$: expected an array"),
    ([summary(rewards={"ada": {"lovelace": -1}})], "$[0].rewards.ada.lovelace"),
    ([summary(rewards={"ada": {"lovelace": MAX_LOVELACE + 1}})], "more than all the ADA"),
    ([summary(deposit={"ada": {"lovelace": 10**30}})], "$[0].deposit"),
    ([summary(rewards={"ada": {"lovelace": "995879"}})], "expected an integer"),
    ([summary(rewards={"ada": {"lovelace": True}})], "expected an integer"),
    ([summary(rewards=None)], "$[0].rewards"),
    ([{k: v for k, v in summary().items() if k != "rewards"}], "missing field 'rewards'"),
    ([summary(credential=OTHER)], "not a credential we asked about"),
    ([summary(**{"from": "verificationKey"})], "not a credential we asked about"),
    ([summary(**{"from": "pool"})], "$[0].from"),
    ([summary(credential=SCRIPT.upper())], "$[0].credential"),
    ([summary(), summary()], "summarised twice"),
    ([summary(stakePool={"id": 7})], "$[0].stakePool.id"),
])
def test_a_malformed_or_impossible_answer_is_refused_naming_the_field(result: Any, names: str) -> None:
    fake = answering(copy.deepcopy(result))
    with pytest.raises(ProtocolError) as raised:
        OgmiosClient(fake).reward_accounts(scripts=[SCRIPT])
    assert names in str(raised.value)
    assert raised.value.exit_code == 3
    assert len(fake.requests) == 1  # an unreadable answer is not retried
