"""The Ogmios and Kupo clients: request shapes, echo checks, faults, retries, read-your-writes.

Ogmios is faked with a plain ``call`` function answering with Ogmios' own test vectors;
Kupo with ``httpx.MockTransport``. Faults are injected only at the transport; sleeps
and clocks are injected, so no test ever sleeps.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from runner.chain.backend import OutputReference, Script, Value
from runner.chain.kupo import CHECKPOINT_HEADER, KupoClient
from runner.chain.ogmios import OgmiosClient
from runner.chain.retry import LOST, UNREACHABLE
from runner.errors import ChainUnavailable, LedgerRejection, ProtocolError
from runner.testing.chain_client import (  # noqa: F401
    ADDRESS,
    FAST,
    OGMIOS_SCHEMAS,
    POLICY,
    REFERENCE,
    TX_ID,
    VECTORS,
    FakeOgmios,
    assert_valid_request,
    first_success,
    sample_utxo,
    sleeps,
    vector,
)

# ------------------------------------------------------------------ Ogmios client


def test_every_client_method_sends_a_request_valid_under_the_ogmios_schema() -> None:
    answers = {
        "queryNetwork/tip": first_success("QueryNetworkTip"),
        "queryLedgerState/epoch": first_success("QueryLedgerStateEpoch"),
        "queryLedgerState/protocolParameters": first_success(
            "QueryLedgerStateProtocolParameters"
        ),
        "queryLedgerState/eraSummaries": first_success("QueryLedgerStateEraSummaries"),
        "queryNetwork/genesisConfiguration": first_success(
            "QueryNetworkGenesisConfiguration"
        ),
        "queryNetwork/startTime": first_success("QueryNetworkStartTime"),
        "queryLedgerState/utxo": first_success("QueryLedgerStateUtxo"),
        "evaluateTransaction": first_success("EvaluateTransactionResponse"),
        "submitTransaction": first_success("SubmitTransactionResponse"),
        "acquireMempool": first_success("AcquireMempoolResponse"),
        "hasTransaction": first_success("HasTransactionResponse"),
        "releaseMempool": first_success("ReleaseMempoolResponse"),
    }
    fake = FakeOgmios(answers)
    client = OgmiosClient(fake)
    (
        client.network_tip(),
        client.epoch(),
        client.protocol_parameters(),
        client.era_summaries(),
    )
    client.genesis_configuration("alonzo"), client.start_time()
    client.utxos_at([ADDRESS]), client.utxos_by_refs([OutputReference(TX_ID, 3)])
    (
        client.evaluate(b"\x84\xa0", additional_utxo=[sample_utxo()]),
        client.evaluate(b"\x84\xa0"),
    )
    client.submit(b"\x84\xa0"), client.in_mempool(TX_ID)
    for request in fake.requests:
        assert request["jsonrpc"] == "2.0" and "id" in request
        assert_valid_request(request)
    assert fake.requests[6]["params"] == {"addresses": [ADDRESS]}
    assert fake.requests[7]["params"] == {
        "outputReferences": [{"transaction": {"id": TX_ID}, "index": 3}]
    }
    assert fake.requests[8]["params"]["additionalUtxo"][0]["value"] == {
        "ada": {"lovelace": 2_000_000},
        POLICY: {"": 5, "6d73": 1},
    }
    assert "additionalUtxo" not in fake.requests[9]["params"]
    assert fake.requests[10]["params"] == {"transaction": {"cbor": "84a0"}}
    assert fake.methods[-3:] == ["acquireMempool", "hasTransaction", "releaseMempool"]


def test_answer_echoing_another_method_is_a_protocol_error_and_not_retried() -> None:
    fake = FakeOgmios({"queryNetwork/tip": first_success("QueryLedgerStateTip")})
    with pytest.raises(ProtocolError, match="queryLedgerState/tip"):
        OgmiosClient(fake, retry=FAST).network_tip()
    assert len(fake.requests) == 1


def test_transient_fault_is_retried_with_the_policy_delays_then_succeeds() -> None:
    outcomes: list[Any] = [
        ChainUnavailable("socket dropped", code=LOST),
        ChainUnavailable("refused", code=UNREACHABLE),
        first_success("QueryNetworkTip"),
    ]

    def flaky(request: dict[str, Any]) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    slept, sleep = sleeps()
    tip = OgmiosClient(
        FakeOgmios({"queryNetwork/tip": flaky}), retry=FAST, sleep=sleep
    ).network_tip()
    assert tip.slot == first_success("QueryNetworkTip")["result"]["slot"]
    assert slept == FAST.delays()[:2]


def test_retries_stop_after_the_policy_attempts_with_the_last_error() -> None:
    fake = FakeOgmios(
        {"queryLedgerState/epoch": ChainUnavailable("timed out", code=LOST)}
    )
    slept, sleep = sleeps()
    with pytest.raises(ChainUnavailable, match="timed out"):
        OgmiosClient(fake, retry=FAST, sleep=sleep).epoch()
    assert len(fake.requests) == FAST.attempts
    assert slept == FAST.delays()


def test_ledger_rejection_is_never_retried_and_keeps_the_ogmios_code() -> None:
    rejected = next(
        v
        for p in sorted((VECTORS / "SubmitTransactionResponse").glob("*.json"))
        if "error" in (v := json.loads(p.read_text())) and v["error"]["code"] == 3125
    )
    fake = FakeOgmios({"submitTransaction": rejected})
    with pytest.raises(LedgerRejection) as caught:
        OgmiosClient(fake, retry=FAST, submit_retry=FAST).submit(b"\x84")
    assert (
        caught.value.ogmios_code == 3125
        and caught.value.data == rejected["error"]["data"]
    )
    assert len(fake.requests) == 1


@pytest.mark.parametrize(("code", "calls"), [(UNREACHABLE, 2), (LOST, 1)])
def test_submit_is_retried_only_when_the_request_never_left(
    code: str, calls: int
) -> None:
    outcomes: list[Any] = [
        ChainUnavailable("fault", code=code),
        first_success("SubmitTransactionResponse"),
    ]

    def answer(request: dict[str, Any]) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    fake = FakeOgmios({"submitTransaction": answer})
    client = OgmiosClient(fake, sleep=lambda _: None)
    if calls == 1:
        with pytest.raises(ChainUnavailable):
            client.submit(b"\x84")
    else:
        assert (
            client.submit(b"\x84").tx_id
            == first_success("SubmitTransactionResponse")["result"]["transaction"]["id"]
        )
    assert fake.methods == ["submitTransaction"] * calls


def test_mempool_snapshot_is_released_even_when_the_question_fails() -> None:
    refused = vector(
        "HasTransactionResponse",
        next(
            p.name
            for p in sorted((VECTORS / "HasTransactionResponse").glob("*.json"))
            if "error" in json.loads(p.read_text())
        ),
    )
    fake = FakeOgmios(
        {
            "acquireMempool": first_success("AcquireMempoolResponse"),
            "hasTransaction": refused,
            "releaseMempool": first_success("ReleaseMempoolResponse"),
        }
    )
    with pytest.raises(ProtocolError, match="4000"):
        OgmiosClient(fake, retry=FAST).in_mempool(TX_ID)
    assert fake.methods == ["acquireMempool", "hasTransaction", "releaseMempool"]
    assert fake.requests[1]["params"] == {"id": TX_ID}


def test_unreadable_result_is_a_protocol_error_naming_the_field() -> None:
    broken = copy.deepcopy(first_success("QueryLedgerStateUtxo"))
    broken["result"][0]["value"]["ada"]["lovelace"] = "12"
    with pytest.raises(ProtocolError, match=r"\$\[0\]\.value\.ada\.lovelace"):
        OgmiosClient(FakeOgmios({"queryLedgerState/utxo": broken})).utxos_at([ADDRESS])


# ------------------------------------------------------------------ Kupo


def _kupo_registry() -> Registry:
    spec = yaml.safe_load((REFERENCE / "kupo" / "openapi-v2.12.0.yaml").read_text())
    # Upstream quirk (shared/OGMIOS-KUPO.md): Address is a oneOf of strings that all match.
    spec["components"]["schemas"]["Address"] = {"type": "string"}
    return Registry().with_resource(
        "kupo.yaml", Resource.from_contents(spec, default_specification=DRAFT7)
    )


KUPO_SCHEMAS = _kupo_registry()


def assert_kupo_valid(body: Any, schema: Mapping[str, Any]) -> None:
    errors = list(Draft7Validator(schema, registry=KUPO_SCHEMAS).iter_errors(body))
    assert not errors, errors[0].message


def kupo_match(*, inline: bool, spent: bool = False) -> dict[str, Any]:
    match = {
        "transaction_index": 0,
        "transaction_id": TX_ID,
        "output_index": 2,
        "address": ADDRESS,
        "value": {"coins": 1_500_000, "assets": {f"{POLICY}.6d73": 7, POLICY: 1}},
        "datum_hash": "be111f53b15aac4305e6f09afa7735b9f23eb94d794641d1cd0166d026bb3a7c",
        "datum_type": "inline" if inline else "hash",
        "datum": "d87980" if inline else None,
        "script_hash": "e519ae553636e80cd6d31a3343aa84cf6bae97bf979e041968c8afb3",
        "script": {"language": "plutus:v3", "script": "450100002261"},
        "created_at": {"slot_no": 90, "header_hash": "aa" * 32},
        "spent_at": {
            "slot_no": 95,
            "header_hash": "bb" * 32,
            "transaction_id": "cc" * 32,
            "input_index": 0,
            "redeemer": "d87a80",
        }
        if spent
        else None,
    }
    assert_kupo_valid(
        [match],
        {"type": "array", "items": {"$ref": "kupo.yaml#/components/schemas/Match"}},
    )
    return match


class FakeKupo:
    """An httpx handler: answers from a list of (status, body, checkpoint) per call, records requests."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        status, body, checkpoint = answer
        headers = {} if checkpoint is None else {CHECKPOINT_HEADER: str(checkpoint)}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=headers)

    def client(self, **kwargs: Any) -> KupoClient:
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("sleep", lambda _: None)
        return KupoClient(
            "http://kupo.test", transport=httpx.MockTransport(self), **kwargs
        )


def test_unspent_matches_become_utxos_and_record_the_checkpoint() -> None:
    fake = FakeKupo((200, [kupo_match(inline=True), kupo_match(inline=False)], 1234))
    kupo = fake.client()
    inline, hashed = kupo.utxos_at(ADDRESS)
    request = fake.requests[0]
    assert request.url.path == f"/matches/{ADDRESS}"
    assert set(request.url.query.decode().split("&")) == {"unspent", "resolve_hashes"}
    assert kupo.most_recent_checkpoint == 1234
    assert inline.ref == OutputReference(TX_ID, 2) and inline.address == ADDRESS
    assert inline.value == Value(1_500_000, {POLICY: {"6d73": 7, "": 1}})
    assert (inline.datum, inline.datum_hash) == (bytes.fromhex("d87980"), None)
    assert (hashed.datum, hashed.datum_hash) == (
        None,
        kupo_match(inline=False)["datum_hash"],
    )
    assert inline.script == Script("plutus:v3", bytes.fromhex("450100002261"))


def test_spent_history_query_carries_the_filters_and_spending_point() -> None:
    fake = FakeKupo((200, [kupo_match(inline=False, spent=True)], 99))
    (match,) = fake.client().matches(f"{POLICY}.*", status="spent", created_after=80)
    assert set(fake.requests[0].url.query.decode().split("&")) == {
        "spent",
        "resolve_hashes",
        "created_after=80",
    }
    assert match.created_at.slot == 90
    assert match.spent_at is not None and (
        match.spent_at.slot,
        match.spent_at.tx_id,
    ) == (95, "cc" * 32)
    assert match.spent_at.redeemer == bytes.fromhex("d87a80")


def test_503_then_200_is_retried_and_succeeds() -> None:
    fake = FakeKupo((503, {"hint": "busy"}, None), (200, {"datum": "d87980"}, 7))
    slept, sleep = sleeps()
    assert fake.client(sleep=sleep).datum("ab" * 32) == bytes.fromhex("d87980")
    assert len(fake.requests) == 2 and slept == FAST.delays()[:1]
    assert fake.requests[0].url.path == f"/datums/{'ab' * 32}"


def test_400_is_a_protocol_error_with_kupo_hint_and_not_retried() -> None:
    fake = FakeKupo((400, {"hint": "Invalid pattern!"}, None))
    with pytest.raises(ProtocolError, match="Invalid pattern!"):
        fake.client().matches("not a pattern")
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (httpx.ConnectError("connection refused"), UNREACHABLE),
        (httpx.ReadTimeout("timed out"), LOST),
        (
            httpx.RemoteProtocolError("server disconnected without sending a response"),
            LOST,
        ),
    ],
)
def test_transport_faults_are_chain_unavailable_after_every_attempt(
    fault: Exception, code: str
) -> None:
    fake = FakeKupo(fault)
    with pytest.raises(ChainUnavailable) as caught:
        fake.client().script("ab" * 28)
    assert caught.value.code == code
    assert len(fake.requests) == FAST.attempts


def test_missing_datum_and_script_are_none() -> None:
    fake = FakeKupo((200, None, 5))
    kupo = fake.client()
    assert kupo.datum("ab" * 32) is None and kupo.script("cd" * 28) is None


def test_non_json_body_and_bad_checkpoint_header_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        FakeKupo((200, b"<html>", 5)).client().checkpoints()
    with pytest.raises(ProtocolError, match=CHECKPOINT_HEADER):
        FakeKupo((200, [], "soon")).client().checkpoints()


def health(checkpoint: int) -> tuple[int, dict[str, Any], int]:
    body = {
        "connection_status": "connected",
        "most_recent_checkpoint": checkpoint,
        "most_recent_node_tip": 200,
        "seconds_since_last_block": 1,
        "network_synchronization": 0.5,
        "configuration": {"indexes": "installed"},
        "version": "v2.12.0",
    }
    assert_kupo_valid(body, {"$ref": "kupo.yaml#/components/schemas/Health"})
    return (200, body, checkpoint)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_wait_for_checkpoint_polls_until_kupo_reaches_the_slot() -> None:
    clock = FakeClock()
    fake = FakeKupo(health(40), health(45), health(52), health(60))
    kupo = fake.client(clock=clock, sleep=clock.sleep, poll_interval=0.5)
    assert kupo.wait_for_checkpoint(50, deadline=clock.now + 10) == 52
    assert clock.slept == [0.5, 0.5] and len(fake.requests) == 3
    assert all(r.url.path == "/health" for r in fake.requests)


def test_wait_for_checkpoint_gives_up_at_the_deadline_without_oversleeping() -> None:
    clock = FakeClock()
    fake = FakeKupo(health(40))
    kupo = fake.client(clock=clock, sleep=clock.sleep, poll_interval=0.5)
    with pytest.raises(ChainUnavailable, match="not yet slot 50"):
        kupo.wait_for_checkpoint(50, deadline=clock.now + 1.2)
    assert clock.slept == [0.5, 0.5, pytest.approx(0.2)]
    assert clock.now == pytest.approx(101.2)


def test_checkpoint_already_reached_returns_without_sleeping() -> None:
    clock = FakeClock()
    kupo = FakeKupo(health(75)).client(clock=clock, sleep=clock.sleep)
    assert kupo.wait_for_checkpoint(75, deadline=clock.now) == 75
    assert clock.slept == []
