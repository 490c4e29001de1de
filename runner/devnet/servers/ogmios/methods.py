"""Ogmios v6.14 methods answered from the devnet ledger: queries, evaluation, submission, mempool.

Transport-free (the WebSocket side lives in ``servers.ogmios.server``) so each method is a plain
function of the ledger and its params, and every refusal is an :class:`RpcFailure` that
carries Ogmios' own code: -32602 for bad params, 3xxx for ledger refusals, 4000 for a
mempool query before ``acquireMempool``.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from runner.devnet.ledger import clock
from runner.devnet.servers import tip_view
from runner.devnet.servers.guard import LedgerGuard
from runner.devnet.servers.ogmios import chainsync, queries, shapes
from runner.devnet.servers.ogmios import tx as ogmios_tx
from runner.devnet.servers.ogmios.rpc import (
    BadParams,
    RpcFailure,
    no_params,
    params_object,
    parse_address,
    parse_list,
    parse_output_reference,
    transaction_cbor,
)
from runner.errors import LedgerRejection, StateError

T = TypeVar("T")
log = logging.getLogger(__name__)

VERSION = "v6.14.0 (milestones devnet)"


@dataclass
class Session:
    """Per-connection state: the acquired mempool snapshot (Ogmios' local-tx-monitor), the
    place on the chain (chain sync) and the acquired ledger state."""

    snapshot: list[tuple[str, bytes]] | None = None
    cursor: int = 0
    snapshot_slot: int = 0
    snapshot_key: tuple[tuple[str, ...], str] | None = None
    follower: chainsync.Follower = field(default_factory=chainsync.Follower)
    acquired: queries.Acquired | None = None
    #: False over HTTP: one request, one response, no state between them
    stateful: bool = True


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
    from runner.devnet.ledger.json_codec import utxo_entry

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
    from runner.devnet.ledger.json_codec import utxo_from_json

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
        from runner.devnet.ledger.json_codec import output_references

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


def _acquire_mempool(ledger: Any, session: Session, params: Any) -> Any:
    """A snapshot of the mempool. While one is held, acquiring again waits for a different
    one (the node's MsgAwaitAcquire): a new tip or other pending transactions."""
    no_params(params, "acquireMempool")
    snapshot = _mempool(ledger)
    key = (tuple(tx_id for tx_id, _ in snapshot), str(ledger.tip.block_hash))
    if session.snapshot is not None and session.stateful and key == session.snapshot_key:
        return chainsync.AWAIT
    session.snapshot, session.cursor, session.snapshot_key = snapshot, 0, key
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

_QUERIES.update(queries.QUERIES)

_SESSION: dict[str, Callable[[Any, Session, Any], Any]] = {
    "findIntersection": lambda ledger, s, p: chainsync.find_intersection(ledger, s.follower, p),
    "nextBlock": lambda ledger, s, p: chainsync.next_block(ledger, s.follower, p),
    "acquireLedgerState": lambda ledger, s, p: _acquire_ledger_state(ledger, s, p),
    "releaseLedgerState": lambda ledger, s, p: _release_ledger_state(s, p),
}

METHODS = (tuple(_QUERIES) + tuple(_MEMPOOL) + tuple(_SESSION)
           + ("submitTransaction", "evaluateTransaction"))
#: Methods whose answer depends on earlier requests of the same connection.
STATEFUL = frozenset(_SESSION) - {"acquireLedgerState", "releaseLedgerState"}


def _acquire_ledger_state(ledger: Any, session: Session, params: Any) -> dict[str, Any]:
    session.acquired, result = queries.acquire(ledger, params)
    return result


def _release_ledger_state(session: Session, params: Any) -> dict[str, Any]:
    no_params(params, "releaseLedgerState")
    session.acquired = None
    return {"released": "ledgerState"}


def _query(ledger: Any, session: Session, method: str, params: Any) -> Any:
    if method.startswith("queryLedgerState/"):
        queries.check_acquired(ledger, session.acquired)
    return _QUERIES[method](ledger, params)


def dispatch(guard: LedgerGuard, session: Session, method: Any, params: Any) -> Any:
    """Route one request; ``RpcFailure`` for every refusal, with Ogmios' code."""
    try:
        if method == "submitTransaction":
            return _submit(guard, params)
        if method == "evaluateTransaction":
            return _evaluate(guard, params)
        if method in _QUERIES:
            return guard.read(lambda ledger: _query(ledger, session, method, params))
        if method in _MEMPOOL:
            return guard.read(lambda ledger: _MEMPOOL[method](ledger, session, params))
        if method in _SESSION:
            if method in STATEFUL and not session.stateful:
                raise RpcFailure(-32600, f"Invalid request: {method} follows the chain over a connection; "
                                         "use the WebSocket endpoint (ws://host:port) for chain sync.")
            return guard.read(lambda ledger: _SESSION[method](ledger, session, params))
        if isinstance(method, str) and method.startswith("devnet/"):
            from runner.devnet.servers.ogmios.control import CONTROL, control

            if method in CONTROL:
                return control(guard, method, params)
    except BadParams as exc:
        raise RpcFailure(-32602, str(exc)) from exc
    except StateError as exc:  # the devnet's own disk (a save failed): an answer, not a traceback
        log.warning("devnet Ogmios: %s refused: %s", method, exc)
        raise RpcFailure(-32603, f"Internal error: {exc.message}", exc.to_dict()) from exc
    raise RpcFailure(-32601, f"Invalid request: unknown method {str(method)[:100]!r}. This devnet "
                             f"answers: {', '.join(METHODS)}.")


__all__ = ["METHODS", "BadParams", "LedgerGuard", "RpcFailure", "Session", "dispatch", "health",
           "no_params", "params_object", "parse_address", "parse_list", "parse_output_reference",
           "transaction_cbor"]
