"""Helpers for tests of the chain clients: the vendored Ogmios vectors and schema
(``shared/reference`` beside the repository), a recording fake Ogmios ``call``, sample
values. No test framework is needed."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from runner.chain.backend import OutputReference, Script, Utxo, Value
from runner.chain.ogmios import encode_request
from runner.chain.retry import RetryPolicy

__all__ = [
    "ADDRESS",
    "FAST",
    "OGMIOS_SCHEMAS",
    "POLICY",
    "REFERENCE",
    "TX_ID",
    "VECTORS",
    "FakeOgmios",
    "assert_valid_request",
    "first_success",
    "sample_utxo",
    "sleeps",
    "vector",
]

REFERENCE = Path("/work/shared/reference")
_here = Path(__file__).resolve().parents[3] / "shared" / "reference"
if _here.is_dir():
    REFERENCE = _here
VECTORS = REFERENCE / "ogmios" / "vectors"
FAST = RetryPolicy(attempts=3, first_delay=0.25, max_delay=1.0)
TX_ID = "c4f638b1e44d2fa410f3fcc1d6424d4ed3c1507f425aba78b7ae37cdcd100cfb"
POLICY = "4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d"
ADDRESS = "addr_test1vz09v9yfxguvlp0zsnrpa3tdtm7el8xufp3m5lsm7qxzclgmzkket"


def vector(directory: str, name: str = "000.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / directory / name).read_text())
    return data


def first_success(directory: str) -> dict[str, Any]:
    for path in sorted((VECTORS / directory).glob("*.json")):
        data: dict[str, Any] = json.loads(path.read_text())
        if "result" in data:
            return data
    raise AssertionError(f"no success vector in {directory}")


# ------------------------------------------------------------------ Ogmios schema


def _ogmios_registry() -> Registry:
    ogmios = json.loads((REFERENCE / "ogmios" / "ogmios.json").read_text())
    cardano = json.loads((REFERENCE / "ogmios" / "cardano.json").read_text())
    # Upstream quirk (shared/OGMIOS-KUPO.md): Value's propertyNames rejects its own
    # required "ada" key; widen it to what Ogmios actually sends.
    cardano["definitions"]["Value"]["propertyNames"] = {
        "pattern": "^(ada|[0-9a-f]{56})$"
    }
    return Registry().with_resources(
        [
            ("ogmios.json", DRAFT7.create_resource(ogmios)),
            ("cardano.json", DRAFT7.create_resource(cardano)),
        ]
    )


OGMIOS_SCHEMAS = _ogmios_registry()


def assert_valid_request(request: Mapping[str, Any]) -> None:
    name = {
        "queryNetwork/tip": "QueryNetworkTip",
        "queryLedgerState/epoch": "QueryLedgerStateEpoch",
        "queryLedgerState/protocolParameters": "QueryLedgerStateProtocolParameters",
        "queryLedgerState/eraSummaries": "QueryLedgerStateEraSummaries",
        "queryNetwork/genesisConfiguration": "QueryNetworkGenesisConfiguration",
        "queryNetwork/startTime": "QueryNetworkStartTime",
        "queryLedgerState/utxo": "QueryLedgerStateUtxo",
        "evaluateTransaction": "EvaluateTransaction",
        "submitTransaction": "SubmitTransaction",
        "acquireMempool": "AcquireMempool",
        "hasTransaction": "HasTransaction",
        "releaseMempool": "ReleaseMempool",
    }[request["method"]]
    validator = Draft7Validator(
        {"$ref": f"ogmios.json#/properties/{name}"}, registry=OGMIOS_SCHEMAS
    )
    errors = sorted(validator.iter_errors(request), key=str)
    assert not errors, (
        f"{request['method']} request breaks the Ogmios schema: {errors[0].message}"
    )


class FakeOgmios:
    """A ``call`` that records requests and answers with canned responses per method."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = dict(answers)
        self.requests: list[dict[str, Any]] = []

    def __call__(
        self, method: str, params: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        request = encode_request(method, params, len(self.requests))
        self.requests.append(request)
        answer = self.answers[method]
        if callable(answer):
            answered: Mapping[str, Any] = answer(request)
            return answered
        if isinstance(answer, BaseException):
            raise answer
        canned: Mapping[str, Any] = answer
        return canned

    @property
    def methods(self) -> list[str]:
        return [r["method"] for r in self.requests]


def sleeps() -> tuple[list[float], Callable[[float], None]]:
    slept: list[float] = []
    return slept, slept.append


def sample_utxo() -> Utxo:
    return Utxo(
        ref=OutputReference(TX_ID, 1),
        address=ADDRESS,
        value=Value(2_000_000, {POLICY: {"": 5, "6d73": 1}}),
        datum=bytes.fromhex("d87980"),
        script=Script("plutus:v3", bytes.fromhex("450100002261")),
    )
