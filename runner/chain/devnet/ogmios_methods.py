"""Ogmios v6.14 methods answered from the devnet ledger: queries, evaluation, submission, mempool.

Transport-free (the WebSocket side lives in ``ogmios_server``) so each method is a plain
function of the ledger and its params, and every refusal is an :class:`RpcFailure` that
carries Ogmios' own code: -32602 for bad params, 3xxx for ledger refusals, 4000 for a
mempool query before ``acquireMempool``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pycardano import Address, TransactionInput

from runner.chain.devnet import clock, ogmios_tx, tip_view
from runner.chain.devnet import ogmios_shapes as shapes
from runner.errors import LedgerRejection

T = TypeVar("T")

VERSION = "v6.14.0 (milestones devnet)"


# --- request parameters -> ledger objects ----------------------------------------------

class BadParams(ValueError):
    """A request parameter Ogmios would refuse with -32602; the message names the field."""


def params_object(params: Any, method: str) -> Mapping[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise BadParams(f"Invalid request: 'params' of {method} must be an object, got "
                        f"{type(params).__name__}.")
    return params


def no_params(params: Any, method: str) -> None:
    """Methods that take nothing refuse something (absent, null and {} are nothing)."""
    if params is None or params == {}:
        return
    shown = str(params)[:80]
    raise BadParams(f"Invalid request: {method} takes no params, got {shown}.")


def transaction_cbor(params: Mapping[str, Any], method: str) -> str:
    """``params.transaction.cbor`` (hex) of submitTransaction / evaluateTransaction."""
    tx = params.get("transaction")
    cbor = tx.get("cbor") if isinstance(tx, Mapping) else None
    if not isinstance(cbor, str):
        raise BadParams(f"Invalid request: {method} needs params.transaction.cbor, the "
                        "hex-encoded CBOR of a signed transaction.")
    return cbor


def parse_address(text: Any, where: str) -> Address:
    if not isinstance(text, str) or not text:
        raise BadParams(f"Invalid request: {where} must be an address string (bech32 or hex).")
    try:
        if all(c in "0123456789abcdefABCDEF" for c in text) and len(text) % 2 == 0:
            return Address.from_primitive(bytes.fromhex(text))
        return Address.from_primitive(text)
    except Exception as exc:  # pycardano raises several kinds on a bad address
        raise BadParams(f"Invalid request: {where} is not a valid Cardano address "
                        f"({text[:120]!r}: {exc}).") from exc


_HEX64 = frozenset("0123456789abcdef")


def parse_output_reference(raw: Any, where: str) -> TransactionInput:
    tx = raw.get("transaction") if isinstance(raw, Mapping) else None
    tx_id = tx.get("id") if isinstance(tx, Mapping) else None
    index = raw.get("index") if isinstance(raw, Mapping) else None
    if (not isinstance(tx_id, str) or len(tx_id) != 64 or not set(tx_id) <= _HEX64
            or not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise BadParams(f"Invalid request: {where} must be "
                        '{"transaction": {"id": <64 hex chars>}, "index": <int >= 0>}.')
    return TransactionInput.from_primitive([bytes.fromhex(tx_id), index])


def parse_list(params: Mapping[str, Any], key: str) -> list[Any]:
    items = params.get(key)
    if not isinstance(items, list):
        raise BadParams(f"Invalid request: params.{key} must be a list.")
    return items


class LedgerGuard:
    """The ledger plus the one lock every server thread takes before touching it.

    ``read`` and ``write`` differ only in intent (the ledger persists itself after each
    change when it has a data directory); both serialise access, because even a query
    walks dictionaries that a concurrent submission would mutate.
    """

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger
        self.lock = threading.RLock()
        self.started_at = time.time()

    def read(self, fn: Callable[[Any], T]) -> T:
        with self.lock:
            return fn(self.ledger)

    def write(self, fn: Callable[[Any], T]) -> T:
        with self.lock:
            return fn(self.ledger)


class RpcFailure(Exception):
    """An answer with ``error`` instead of ``result``: an Ogmios code, message and data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def to_json(self) -> dict[str, Any]:
        return shapes.rpc_error(self.code, self.message, self.data)


@dataclass
class Session:
    """Per-connection state: the acquired mempool snapshot (Ogmios' local-tx-monitor)."""

    snapshot: list[tuple[str, bytes]] | None = None
    cursor: int = 0
    snapshot_slot: int = 0


MUST_ACQUIRE = 4000


def _chain_point(ledger: Any) -> shapes.ChainPoint:
    tip = ledger.tip
    return shapes.ChainPoint(int(tip.slot), str(tip.block_hash), int(tip.height))


def _slot_config(ledger: Any) -> tuple[int, int, int]:
    config = ledger.slot_config
    return int(config.system_start_ms), int(config.slot_length_ms), int(config.epoch_length)


def _epoch(ledger: Any) -> int:
    return int(ledger.epoch)


def _era_summaries(ledger: Any) -> list[dict[str, Any]]:
    return clock.era_summaries(ledger.slot_config, int(ledger.current_slot))


def health(ledger: Any, guard: LedgerGuard, counters: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Ogmios' ``/health`` document (the fields its dashboards and probes read)."""
    epoch_length = _slot_config(ledger)[2]
    point = _chain_point(ledger)
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"
    return {
        "startTime": shapes.utc_time(int(guard.started_at * 1000)),
        "lastKnownTip": shapes.tip(point),
        "lastTipUpdate": now,
        "networkSynchronization": 1.0,
        "currentEra": "conway",
        "metrics": {"activeConnections": 0, "totalConnections": 0, "totalMessages": 0,
                    **(counters or {}), "runtimeStats": {}, "sessionDurations": {}, "totalUnrouted": 0},
        "connectionStatus": "connected",
        "currentEpoch": _epoch(ledger),
        "slotInEpoch": int(ledger.current_slot) % epoch_length,
        "version": VERSION,
        "network": "devnet",
    }


def _mempool(ledger: Any) -> list[tuple[str, bytes]]:
    """(tx id, CBOR) of the ledger's pending transactions, oldest first: the snapshot a
    session acquires (sizes are the CBOR lengths, as a node counts them)."""
    return list(ledger.mempool_transactions)


#: Per ledger, output reference -> its Ogmios JSON. An output never changes under its
#: reference within one ledger (the transaction id hashes the body), so entries stay valid
#: across blocks and rollbacks; another ledger (a UTxO file) may reuse a reference.
_UTXO_JSON: weakref.WeakKeyDictionary[Any, dict[Any, dict[str, Any]]] = weakref.WeakKeyDictionary()
_UTXO_JSON_LIMIT = 200_000


def _utxo_json(ledger: Any, ref: Any, output: Any) -> dict[str, Any]:
    from runner.chain.devnet.ledger_json import utxo_entry

    cache = _UTXO_JSON.setdefault(ledger, {})
    entry = cache.get(ref)
    if entry is None:
        if len(cache) >= _UTXO_JSON_LIMIT:
            cache.clear()
        entry = cache[ref] = utxo_entry(ref, output)
    return entry


def _utxo(ledger: Any, params: Any) -> list[dict[str, Any]]:
    query = params_object(params, "queryLedgerState/utxo")
    if "addresses" in query:
        wanted = {shapes.address_bytes(address): address for address in (
            parse_address(a, f"params.addresses[{i}]") for i, a in enumerate(parse_list(query, "addresses")))}
        entries = [entry for address in wanted.values() for entry in tip_view.utxos_at(ledger, address)]
    elif "outputReferences" in query:
        refs = [parse_output_reference(r, f"params.outputReferences[{i}]")
                for i, r in enumerate(parse_list(query, "outputReferences"))]
        utxo = tip_view.utxo_at_tip(ledger)
        entries = [(ref, utxo[ref]) for ref in refs if ref in utxo]
    elif not query:
        entries = list(tip_view.utxo_at_tip(ledger).items())
    else:
        raise BadParams("Invalid request: queryLedgerState/utxo takes {\"addresses\": [...]}, "
                        "{\"outputReferences\": [...]} or no params (whole UTxO).")
    return [_utxo_json(ledger, i, o) for i, o in shapes.sorted_utxo(dict(entries).items())]


def _rejection(exc: LedgerRejection) -> RpcFailure:
    return RpcFailure(exc.ogmios_code, exc.message, exc.data)


#: Codes that Ogmios reports per validator inside an evaluateTransaction 3010 failure.
_PER_VALIDATOR = {3110: "extraneousRedeemers"}


def _evaluation_rejection(exc: LedgerRejection) -> RpcFailure:
    """A ledger refusal in evaluateTransaction's vocabulary (ogmios.json EvaluateTransactionFailure).

    Unknown inputs are 3004 "cannot create evaluation context", as Ogmios reports them;
    extraneous redeemers are a per-validator 3010 entry; the rest is a 3004 with the
    ledger's message as the reason.
    """
    data = exc.data if isinstance(exc.data, dict) else {}
    if exc.ogmios_code == -32602:
        return _rejection(exc)
    if exc.ogmios_code == 3117:
        refs = data.get("unknownOutputReferences") or []
        names = ", ".join(f"{r['transaction']['id']}#{r['index']}" for r in refs) or exc.message
        return RpcFailure(3004, "Unable to create the evaluation context from the given transaction.",
                          {"reason": f"Unknown transaction input (missing from UTxO set): {names}"})
    key = _PER_VALIDATOR.get(exc.ogmios_code)
    if key and data.get(key):
        return RpcFailure(3010, "Some scripts of the transactions terminated with error(s).", [
            {"validator": pointer, "error": shapes.rpc_error(exc.ogmios_code, exc.message, data)}
            for pointer in data[key]])
    return RpcFailure(3004, "Unable to create the evaluation context from the given transaction.",
                      {"reason": exc.message})


def _tx_bytes(params: Any, method: str) -> bytes:
    cbor = transaction_cbor(params_object(params, method), method)
    try:
        return bytes.fromhex(cbor)
    except ValueError as exc:
        raise RpcFailure(**_deserialisation(f"transaction.cbor is not hexadecimal: {exc}")) from exc


def _deserialisation(reason: str) -> dict[str, Any]:
    error = shapes.deserialisation_failure(reason)
    return {"code": error["code"], "message": error["message"], "data": error["data"]}


def _submit(guard: LedgerGuard, params: Any) -> dict[str, Any]:
    raw = _tx_bytes(params, "submitTransaction")
    try:
        tx_id = guard.write(lambda ledger: ledger.submit(raw))
    except LedgerRejection as exc:
        raise _rejection(exc) from exc
    return {"transaction": {"id": str(tx_id)}}


def _additional_utxo(params: Any) -> dict[Any, Any] | None:
    from runner.chain.devnet.ledger_json import utxo_from_json

    extra = params_object(params, "evaluateTransaction").get("additionalUtxo")
    if extra is None:
        return None
    if not isinstance(extra, list):
        raise BadParams("Invalid request: params.additionalUtxo must be a list of UTxO entries or null.")
    try:
        return dict(utxo_from_json(entry) for entry in extra)
    except Exception as exc:  # malformed entries: name the field, keep serving
        raise BadParams(f"Invalid request: params.additionalUtxo holds an unreadable entry: {exc!r}") from exc


def _evaluate(guard: LedgerGuard, params: Any) -> list[dict[str, Any]]:
    raw = _tx_bytes(params, "evaluateTransaction")
    extra = _additional_utxo(params)

    def evaluate(ledger: Any) -> list[Any]:
        from runner.chain.devnet.ledger_json import output_references

        at_tip = tip_view.utxo_at_tip(ledger)
        overlapping = [ref for ref in (extra or {}) if ref in at_tip]
        if overlapping:
            raise RpcFailure(3002, "Some user-provided UTxO entries overlap with the ledger's UTxO; "
                                   "give only outputs the ledger does not know.",
                             {"overlappingOutputReferences": output_references(overlapping)})
        return list(ledger.evaluate(raw, additional_utxo=extra))

    try:
        results = guard.read(evaluate)
    except LedgerRejection as exc:
        raise _evaluation_rejection(exc) from exc
    failures = [r for r in results if not r.ok]
    if failures:
        raise RpcFailure(3010, "Some scripts of the transactions terminated with error(s).", [
            {"validator": {"purpose": r.tag, "index": int(r.index)},
             "error": {"code": 3012, "message": f"Script failed: {r.error or 'evaluation failure'}",
                       "data": {"validationError": r.error or "evaluation failure",
                                "traces": list(r.logs)}}}
            for r in failures])
    return [{"validator": {"purpose": r.tag, "index": int(r.index)},
             "budget": {"memory": int(r.memory), "cpu": int(r.cpu)}} for r in results]


def _genesis(ledger: Any, params: Any) -> dict[str, Any]:
    era = params_object(params, "queryNetwork/genesisConfiguration").get("era")
    if era not in ("byron", "shelley", "alonzo", "conway"):
        raise BadParams("Invalid request: params.era must be one of byron, shelley, alonzo, conway.")
    start_ms, slot_ms, epoch_length = _slot_config(ledger)
    return shapes.genesis_configuration(era, ledger.params, system_start_ms=start_ms,
                                        slot_length_ms=slot_ms, epoch_length=epoch_length)


def _acquire_mempool(ledger: Any, session: Session, params: Any) -> dict[str, Any]:
    no_params(params, "acquireMempool")
    session.snapshot, session.cursor = _mempool(ledger), 0
    session.snapshot_slot = int(ledger.current_slot)
    return {"acquired": "mempool", "slot": session.snapshot_slot}


def _acquired(session: Session) -> list[tuple[str, bytes]]:
    if session.snapshot is None:
        raise RpcFailure(MUST_ACQUIRE, "You must acquire a mempool snapshot prior to accessing it.")
    return session.snapshot


def _next_transaction(session: Session, params: Any) -> dict[str, Any]:
    snapshot = _acquired(session)
    fields = params_object(params, "nextTransaction").get("fields")
    if fields not in (None, "all"):
        raise BadParams("Invalid request: nextTransaction's params.fields can only be \"all\" (or absent).")
    if session.cursor >= len(snapshot):
        return {"transaction": None}
    tx_id, cbor = snapshot[session.cursor]
    session.cursor += 1
    return {"transaction": ogmios_tx.transaction(tx_id, cbor) if fields == "all" else {"id": tx_id}}


def _has_transaction(session: Session, params: Any) -> bool:
    snapshot = _acquired(session)
    tx_id = params_object(params, "hasTransaction").get("id")
    if not isinstance(tx_id, str):
        raise BadParams("Invalid request: hasTransaction needs params.id, a transaction id (64 hex chars).")
    return any(entry[0] == tx_id for entry in snapshot)


def _size_of_mempool(ledger: Any, session: Session) -> dict[str, Any]:
    snapshot = _acquired(session)
    capacity = int(ledger.params.max_block_size) * shapes.MEMPOOL_CAPACITY_FACTOR
    return {"maxCapacity": {"bytes": capacity},
            "currentSize": {"bytes": sum(len(cbor) for _, cbor in snapshot)},
            "transactions": {"count": len(snapshot)}}


def _release_mempool(session: Session) -> dict[str, Any]:
    _acquired(session)
    session.snapshot, session.cursor = None, 0
    return {"released": "mempool"}


_QUERIES: dict[str, Callable[[Any, Any], Any]] = {
    "queryNetwork/tip": lambda ledger, p: shapes.point(_chain_point(ledger)),
    "queryLedgerState/tip": lambda ledger, p: shapes.point(_chain_point(ledger)),
    "queryNetwork/blockHeight": lambda ledger, p: (
        "origin" if shapes.point(_chain_point(ledger)) == "origin" else int(ledger.tip.height)),
    "queryNetwork/startTime": lambda ledger, p: shapes.utc_time(_slot_config(ledger)[0]),
    "queryNetwork/genesisConfiguration": _genesis,
    "queryLedgerState/epoch": lambda ledger, p: _epoch(ledger),
    "queryLedgerState/protocolParameters": lambda ledger, p: shapes.protocol_parameters(ledger.params),
    "queryLedgerState/eraSummaries": lambda ledger, p: _era_summaries(ledger),
    "queryLedgerState/eraStart": lambda ledger, p: _era_summaries(ledger)[-1]["start"],
    "queryLedgerState/utxo": _utxo,
}

_MEMPOOL: dict[str, Callable[[Any, Session, Any], Any]] = {
    "acquireMempool": lambda ledger, s, p: _acquire_mempool(ledger, s, p),
    "nextTransaction": lambda ledger, s, p: _next_transaction(s, p),
    "hasTransaction": lambda ledger, s, p: _has_transaction(s, p),
    "sizeOfMempool": lambda ledger, s, p: _size_of_mempool(ledger, s),
    "releaseMempool": lambda ledger, s, p: _release_mempool(s),
}

METHODS = tuple(_QUERIES) + tuple(_MEMPOOL) + ("submitTransaction", "evaluateTransaction")


def dispatch(guard: LedgerGuard, session: Session, method: Any, params: Any) -> Any:
    """Route one request; ``RpcFailure`` for every refusal, with Ogmios' code."""
    try:
        if method == "submitTransaction":
            return _submit(guard, params)
        if method == "evaluateTransaction":
            return _evaluate(guard, params)
        if method in _QUERIES:
            return guard.read(lambda ledger: _QUERIES[method](ledger, params))
        if method in _MEMPOOL:
            return guard.read(lambda ledger: _MEMPOOL[method](ledger, session, params))
        if isinstance(method, str) and method.startswith("devnet/"):
            from runner.chain.devnet.control import CONTROL, control

            if method in CONTROL:
                return control(guard, method, params)
    except BadParams as exc:
        raise RpcFailure(-32602, str(exc)) from exc
    raise RpcFailure(-32601, f"Invalid request: unknown method {str(method)[:100]!r}. This devnet "
                             f"answers: {', '.join(METHODS)}.")
