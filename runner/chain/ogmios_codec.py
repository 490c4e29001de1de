"""Ogmios v6.14 JSON shapes <-> the dataclasses of ``runner.chain.backend``.

Pure functions, no I/O: the WebSocket client hands each response here, and tests feed
Ogmios' own test vectors straight in. Any shape we cannot read becomes a
``ProtocolError`` naming the JSON path, because a silently mis-read amount or datum
would be worse than stopping. Error responses become the project's errors:
``submitTransaction`` / ``evaluateTransaction`` refusals turn into
``LedgerRejection`` or ``ScriptFailure`` carrying Ogmios' code and data unchanged;
anything else Ogmios refuses (era mismatch, mempool not acquired, bad request) is a
``ProtocolError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from runner.chain.backend import (
    ADA,
    ORIGIN,
    SCRIPT_LANGUAGES,
    EraBound,
    EraSummary,
    Evaluation,
    OutputReference,
    RedeemerBudget,
    Script,
    SubmitResult,
    Tip,
    Utxo,
    Value,
)
from runner.chain.ogmios_params import (
    execution_units,
    parse_genesis_configuration,
    parse_protocol_parameters,
)
from runner.chain.ogmios_shapes import (
    as_list,
    as_obj,
    hex_bytes,
    hex_str,
    integer,
    lovelace_of,
    parsing,
    text,
    utc_time,
)
from runner.errors import LedgerRejection, ProtocolError, ScriptFailure

__all__ = [
    "encode_output_reference",
    "encode_utxo",
    "encode_utxos",
    "encode_value",
    "error_from",
    "parse_acquire_mempool",
    "parse_epoch",
    "parse_era_summaries",
    "parse_evaluation",
    "parse_genesis_configuration",
    "parse_has_transaction",
    "parse_protocol_parameters",
    "parse_release_mempool",
    "parse_start_time",
    "parse_submit",
    "parse_tip",
    "parse_utxo",
    "parse_utxos",
    "parse_value",
    "result_of",
]

TRANSACTION_METHODS = ("submitTransaction", "evaluateTransaction")
# Ogmios' ScriptExecutionFailure family, plus "ran out of budget" at submission.
SCRIPT_FAILURE_CODES = frozenset({3010, 3011, 3012, 3013, 3161})
INVALID_PARAMS = -32602  # submit/evaluate: the transaction CBOR did not decode
HINTS: Mapping[int, str] = {
    3117: "an input is already spent or never existed: refresh UTxOs and rebuild, "
    "or check whether this transaction (or a competing one) already landed",
    3118: "the current slot is outside the transaction's validity interval: rebuild "
    "with a fresh interval",
    3122: "the fee is below the minimum: rebuild with current protocol parameters",
    3123: "inputs + mint do not equal outputs + fee + deposits: rebuild the transaction",
    3101: "a required key did not sign: sign with every required signer's key",
    3100: "a signature does not verify over this body: re-sign after the last change",
    3125: "an output holds less than the minimum ada: add lovelace to that output",
    3010: "a validator rejected the transaction: see data for the failing redeemer",
    INVALID_PARAMS: "the transaction CBOR is malformed: rebuild it",
}


# ---------------------------------------------------------------- envelopes & errors


def result_of(response: Mapping[str, Any], method: str) -> Any:
    """The ``result`` of a JSON-RPC response to ``method``, or the translated error."""
    if not isinstance(response, Mapping):
        raise ProtocolError(
            f"Ogmios answered {method} with a {type(response).__name__}, not an object"
        )
    if response.get("jsonrpc") != "2.0":
        raise ProtocolError(
            f"Ogmios answer to {method} is not JSON-RPC 2.0: {_preview(response)}"
        )
    echoed = response.get("method")
    if echoed != method:
        raise ProtocolError(
            f"Ogmios answered method {echoed!r} to a {method!r} request",
            hint="the server is not speaking Ogmios v6.14, or replies got out of order",
        )
    if "error" in response:
        raise error_from(method, response["error"])
    if "result" not in response:
        raise ProtocolError(f"Ogmios answer to {method} has neither result nor error")
    return response["result"]


def error_from(method: str, error: Any) -> Exception:
    """Translate an Ogmios error object into the project's error tree (returned, not raised)."""
    if not isinstance(error, Mapping) or not _is_int(error.get("code")):
        return ProtocolError(
            f"Ogmios sent an unreadable error for {method}: {_preview(error)}"
        )
    code: int = error["code"]
    message = str(error.get("message", "")).strip() or "(no message)"
    data = error.get("data")
    if method in TRANSACTION_METHODS and (
        3000 <= code < 4000 or code == INVALID_PARAMS
    ):
        cls = ScriptFailure if code in SCRIPT_FAILURE_CODES else LedgerRejection
        verb = "submission" if method == "submitTransaction" else "evaluation"
        detail = _script_failure_summary(data) if code == 3010 else ""
        return cls(
            f"transaction {verb} refused (Ogmios {code}): {message}{detail}",
            ogmios_code=code,
            data=data,
            location=method,
            hint=HINTS.get(code),
        )
    return ProtocolError(
        f"Ogmios refused {method} (code {code}): {message}",
        location=method,
        hint=_protocol_hint(code, data),
    )


def _script_failure_summary(data: Any) -> str:
    """``; spend[0]: <reason> (3012)`` for each failing redeemer of a 3010 error."""
    if not isinstance(data, list):
        return ""
    parts = []
    for entry in data:
        try:
            validator, err = entry["validator"], entry["error"]
            parts.append(
                f"{validator['purpose']}[{validator['index']}]: {err['message']} ({err['code']})"
            )
        except (KeyError, TypeError):
            continue
    return "; " + "; ".join(parts) if parts else ""


def _protocol_hint(code: int, data: Any) -> str:
    if code == 2001:
        return f"the node is in another era than the query ({_preview(data)}): wait for it to sync"
    if code == 4000:
        return (
            "acquire a mempool snapshot first (acquireMempool) on the same connection"
        )
    return "check that the server is Ogmios v6.14 and the request is well-formed"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _preview(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 200 else shown[:197] + "..."


# ---------------------------------------------------------------- simple results


@parsing("tip")
def parse_tip(result: Any) -> Tip:
    if result == "origin":
        return ORIGIN
    obj = as_obj(result, "$")
    height = integer(obj["height"], "$.height") if "height" in obj else None
    return Tip(
        slot=integer(obj["slot"], "$.slot"),
        block_hash=hex_str(obj["id"], "$.id", 32),
        height=height,
    )


@parsing("epoch")
def parse_epoch(result: Any) -> int:
    return integer(result, "$")


@parsing("start time")
def parse_start_time(result: Any) -> datetime:
    """UTC start of the network; sub-microsecond digits (Ogmios sends up to 12) are cut."""
    return utc_time(result, "$")


@parsing("submit result")
def parse_submit(result: Any) -> SubmitResult:
    obj = as_obj(result, "$")
    return SubmitResult(
        tx_id=hex_str(
            as_obj(obj["transaction"], "$.transaction")["id"], "$.transaction.id", 32
        )
    )


@parsing("hasTransaction result")
def parse_has_transaction(result: Any) -> bool:
    if not isinstance(result, bool):
        raise TypeError(f"$: expected true or false, got {result!r}")
    return result


@parsing("acquireMempool result")
def parse_acquire_mempool(result: Any) -> int:
    """The slot of the acquired mempool snapshot."""
    obj = as_obj(result, "$")
    if obj.get("acquired") != "mempool":
        raise ValueError(f"$.acquired: expected 'mempool', got {obj.get('acquired')!r}")
    return integer(obj["slot"], "$.slot")


@parsing("releaseMempool result")
def parse_release_mempool(result: Any) -> None:
    if as_obj(result, "$").get("released") != "mempool":
        raise ValueError(f"$.released: expected 'mempool', got {result!r}")


# ---------------------------------------------------------------- values and UTxO


def _value(raw: Any, path: str) -> Value:
    obj = as_obj(raw, path)
    lovelace = lovelace_of(obj, path)
    assets: dict[str, dict[str, int]] = {}
    for policy, names in obj.items():
        if policy == ADA:
            continue
        hex_str(policy, f"{path} key", 28)
        assets[policy] = {
            hex_str(name, f"{path}.{policy} key", None): integer(
                qty, f"{path}.{policy}.{name}"
            )
            for name, qty in as_obj(names, f"{path}.{policy}").items()
        }
    return Value(lovelace=lovelace, assets=assets)


@parsing("value")
def parse_value(raw: Any) -> Value:
    return _value(raw, "$")


def _script(raw: Any, path: str) -> Script:
    obj = as_obj(raw, path)
    language = text(obj["language"], f"{path}.language")
    if language not in SCRIPT_LANGUAGES:
        raise ValueError(f"{path}.language: unknown script language {language!r}")
    if "cbor" not in obj:
        raise ValueError(
            f"{path}.cbor: missing (start Ogmios with --include-script-cbor)"
        )
    return Script(language=language, cbor=hex_bytes(obj["cbor"], f"{path}.cbor"))


def _utxo(raw: Any, path: str) -> Utxo:
    obj = as_obj(raw, path)
    tx = as_obj(obj["transaction"], f"{path}.transaction")
    ref = OutputReference(
        hex_str(tx["id"], f"{path}.transaction.id", 32),
        integer(obj["index"], f"{path}.index"),
    )
    return Utxo(
        ref=ref,
        address=text(obj["address"], f"{path}.address"),
        value=_value(obj["value"], f"{path}.value"),
        datum_hash=hex_str(obj["datumHash"], f"{path}.datumHash", 32)
        if "datumHash" in obj
        else None,
        datum=hex_bytes(obj["datum"], f"{path}.datum") if "datum" in obj else None,
        script=_script(obj["script"], f"{path}.script") if "script" in obj else None,
    )


@parsing("UTxO")
def parse_utxo(raw: Any) -> Utxo:
    return _utxo(raw, "$")


@parsing("UTxO set")
def parse_utxos(result: Any) -> list[Utxo]:
    return [_utxo(item, f"$[{i}]") for i, item in enumerate(as_list(result, "$"))]


# ---------------------------------------------------------------- eras and genesis


def _bound(raw: Any, path: str) -> EraBound:
    obj = as_obj(raw, path)
    seconds = as_obj(obj["time"], f"{path}.time")["seconds"]
    return EraBound(
        time_seconds=integer(seconds, f"{path}.time.seconds", signed=True),
        slot=integer(obj["slot"], f"{path}.slot"),
        epoch=integer(obj["epoch"], f"{path}.epoch"),
    )


def _era_summary(raw: Any, path: str) -> EraSummary:
    obj = as_obj(raw, path)
    params = as_obj(obj["parameters"], f"{path}.parameters")
    safe_zone = params["safeZone"]
    return EraSummary(
        start=_bound(obj["start"], f"{path}.start"),
        end=_bound(obj["end"], f"{path}.end") if obj.get("end") is not None else None,
        epoch_length=integer(params["epochLength"], f"{path}.parameters.epochLength"),
        slot_length_ms=integer(
            as_obj(params["slotLength"], f"{path}.parameters.slotLength")[
                "milliseconds"
            ],
            f"{path}.parameters.slotLength.milliseconds",
        ),
        safe_zone=None
        if safe_zone is None
        else integer(safe_zone, f"{path}.parameters.safeZone"),
    )


@parsing("era summaries")
def parse_era_summaries(result: Any) -> tuple[EraSummary, ...]:
    return tuple(
        _era_summary(item, f"$[{i}]") for i, item in enumerate(as_list(result, "$"))
    )


# ---------------------------------------------------------------- evaluation


@parsing("evaluation result")
def parse_evaluation(result: Any) -> Evaluation:
    budgets = []
    for i, item in enumerate(as_list(result, "$")):
        obj = as_obj(item, f"$[{i}]")
        validator = as_obj(obj["validator"], f"$[{i}].validator")
        budgets.append(
            RedeemerBudget(
                purpose=text(validator["purpose"], f"$[{i}].validator.purpose"),
                index=integer(validator["index"], f"$[{i}].validator.index"),
                budget=execution_units(obj["budget"], f"$[{i}].budget"),
            )
        )
    return Evaluation(redeemers=tuple(budgets))


# ---------------------------------------------------------------- request encoders


def encode_output_reference(ref: OutputReference) -> dict[str, Any]:
    return {"transaction": {"id": ref.tx_id}, "index": ref.index}


def encode_value(value: Value) -> dict[str, Any]:
    out: dict[str, Any] = {ADA: {"lovelace": value.lovelace}}
    for policy, names in value.assets.items():
        out[policy] = dict(names)
    return out


def encode_utxo(utxo: Utxo) -> dict[str, Any]:
    """One ``additionalUtxo`` entry of ``evaluateTransaction`` (Ogmios' ``Utxo`` item shape)."""
    out: dict[str, Any] = encode_output_reference(utxo.ref)
    out["address"] = utxo.address
    out["value"] = encode_value(utxo.value)
    if utxo.datum_hash is not None:
        out["datumHash"] = utxo.datum_hash
    if utxo.datum is not None:
        out["datum"] = utxo.datum.hex()
    if utxo.script is not None:
        out["script"] = {
            "language": utxo.script.language,
            "cbor": utxo.script.cbor.hex(),
        }
    return out


def encode_utxos(utxos: Sequence[Utxo]) -> list[dict[str, Any]]:
    return [encode_utxo(u) for u in utxos]
