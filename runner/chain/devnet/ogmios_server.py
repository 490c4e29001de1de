"""Ogmios v6.14 JSON-RPC over WebSocket, answered from the embedded devnet ledger.

Why a real socket: the production client path (and third-party clients such as
pycardano's ``OgmiosV6ChainContext``) must run unchanged against the devnet, so the
devnet speaks the wire protocol rather than offering a Python shortcut.

Design: one asyncio loop (in a background thread) owns the sockets; every request is
parsed and dispatched in a worker thread that holds :class:`LedgerGuard`'s lock, so a
slow phase-2 evaluation never stalls other connections' framing and the ledger never
sees two callers at once. A request is answered in order per connection, like Ogmios.
``GET /health`` on the same port answers Ogmios' health document (``curl :1337/health``).
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from runner.chain.devnet import ogmios_shapes as shapes
from runner.chain.devnet.ogmios_shapes import BadParams
from runner.errors import LedgerRejection

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Largest request answered with a JSON-RPC error; larger frames close the socket (1009).
MAX_REQUEST_BYTES = 1024 * 1024
MAX_FRAME_BYTES = 8 * MAX_REQUEST_BYTES
VERSION = "v6.14.0 (milestones devnet)"


class LedgerGuard:
    """The ledger plus the one lock every server thread takes before touching it.

    ``on_change`` runs (under the lock) after each mutating call: ``devnet up`` uses it
    to persist the ledger to the data directory.
    """

    def __init__(self, ledger: Any, on_change: Callable[[Any], None] | None = None) -> None:
        self.ledger = ledger
        self.lock = threading.RLock()
        self.on_change = on_change
        self.started_at = time.time()

    def read(self, fn: Callable[[Any], T]) -> T:
        with self.lock:
            return fn(self.ledger)

    def write(self, fn: Callable[[Any], T]) -> T:
        with self.lock:
            result = fn(self.ledger)
            if self.on_change is not None:
                self.on_change(self.ledger)
            return result


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

    snapshot: list[tuple[str, int]] | None = None
    cursor: int = 0
    snapshot_slot: int = 0


MUST_ACQUIRE = 4000


def _chain_point(ledger: Any) -> shapes.ChainPoint:
    tip = ledger.tip
    return shapes.ChainPoint(int(tip.slot), str(tip.block_hash), int(tip.height))


def _slot_config(ledger: Any) -> tuple[int, int, int]:
    config = ledger.slot_config
    return int(config.system_start_ms), int(config.slot_length_ms), int(getattr(config, "epoch_length", 432_000))


def _epoch(ledger: Any) -> int:
    return shapes.epoch_of_slot(int(ledger.current_slot), _slot_config(ledger)[2])


def health(ledger: Any, guard: LedgerGuard) -> dict[str, Any]:
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
        "metrics": {"activeConnections": 0, "totalConnections": 0, "runtimeStats": {},
                    "sessionDurations": {}, "totalMessages": 0, "totalUnrouted": 0},
        "connectionStatus": "connected",
        "currentEpoch": _epoch(ledger),
        "slotInEpoch": int(ledger.current_slot) % epoch_length,
        "version": VERSION,
        "network": "devnet",
    }


def _mempool(ledger: Any) -> list[tuple[str, int]]:
    """(tx id, size in bytes) of the ledger's pending transactions, oldest first.

    The ledger lists ids only; sizes are reported as 0 (in the default block mode every
    submission forms a block, so the mempool is empty between requests anyway).
    """
    return [(str(tx_id), 0) for tx_id in getattr(ledger, "mempool", ())]


#: Output reference -> its Ogmios JSON. An output never changes under its reference (the
#: transaction id hashes the body), so entries stay valid across blocks and rollbacks.
_UTXO_JSON: dict[Any, dict[str, Any]] = {}
_UTXO_JSON_LIMIT = 200_000


def _utxo_json(ref: Any, output: Any) -> dict[str, Any]:
    from runner.chain.devnet.ledger_json import utxo_entry

    entry = _UTXO_JSON.get(ref)
    if entry is None:
        if len(_UTXO_JSON) >= _UTXO_JSON_LIMIT:
            _UTXO_JSON.clear()
        entry = _UTXO_JSON[ref] = utxo_entry(ref, output)
    return entry


def _utxo(ledger: Any, params: Any) -> list[dict[str, Any]]:
    query = shapes.params_object(params, "queryLedgerState/utxo")
    if "addresses" in query:
        wanted = {shapes.address_bytes(shapes.parse_address(a, f"params.addresses[{i}]"))
                  for i, a in enumerate(shapes.parse_list(query, "addresses"))}
        entries = [(i, o) for i, o in ledger.utxo.items() if shapes.address_bytes(o.address) in wanted]
    elif "outputReferences" in query:
        refs = [shapes.parse_output_reference(r, f"params.outputReferences[{i}]")
                for i, r in enumerate(shapes.parse_list(query, "outputReferences"))]
        entries = list(ledger.resolve(refs))
    elif not query:
        entries = list(ledger.utxo.items())
    else:
        raise BadParams("Invalid request: queryLedgerState/utxo takes {\"addresses\": [...]}, "
                        "{\"outputReferences\": [...]} or no params (whole UTxO).")
    return [_utxo_json(i, o) for i, o in shapes.sorted_utxo(dict(entries).items())]


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
    cbor = shapes.transaction_cbor(shapes.params_object(params, method), method)
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

    extra = shapes.params_object(params, "evaluateTransaction").get("additionalUtxo")
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
    try:
        results = guard.read(lambda ledger: ledger.evaluate(raw, additional_utxo=extra))
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
    era = shapes.params_object(params, "queryNetwork/genesisConfiguration").get("era")
    if era not in ("byron", "shelley", "alonzo", "conway"):
        raise BadParams("Invalid request: params.era must be one of byron, shelley, alonzo, conway.")
    start_ms, slot_ms, epoch_length = _slot_config(ledger)
    return shapes.genesis_configuration(era, ledger.params, system_start_ms=start_ms,
                                        slot_length_ms=slot_ms, epoch_length=epoch_length)


def _acquire_mempool(ledger: Any, session: Session) -> dict[str, Any]:
    session.snapshot, session.cursor = _mempool(ledger), 0
    session.snapshot_slot = int(ledger.current_slot)
    return {"acquired": "mempool", "slot": session.snapshot_slot}


def _acquired(session: Session) -> list[tuple[str, int]]:
    if session.snapshot is None:
        raise RpcFailure(MUST_ACQUIRE, "You must acquire a mempool snapshot prior to accessing it.")
    return session.snapshot


def _next_transaction(session: Session) -> dict[str, Any]:
    snapshot = _acquired(session)
    if session.cursor >= len(snapshot):
        return {"transaction": None}
    tx_id = snapshot[session.cursor][0]
    session.cursor += 1
    return {"transaction": {"id": tx_id}}


def _has_transaction(session: Session, params: Any) -> bool:
    snapshot = _acquired(session)
    tx_id = shapes.params_object(params, "hasTransaction").get("id")
    if not isinstance(tx_id, str):
        raise BadParams("Invalid request: hasTransaction needs params.id, a transaction id (64 hex chars).")
    return any(entry[0] == tx_id for entry in snapshot)


def _size_of_mempool(ledger: Any, session: Session) -> dict[str, Any]:
    snapshot = _acquired(session)
    capacity = int(ledger.params.max_block_size) * shapes.MEMPOOL_CAPACITY_FACTOR
    return {"maxCapacity": {"bytes": capacity},
            "currentSize": {"bytes": sum(size for _, size in snapshot)},
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
    "queryLedgerState/eraSummaries": lambda ledger, p: shapes.era_summaries(
        _slot_config(ledger)[1], _slot_config(ledger)[2], int(ledger.current_slot)),
    "queryLedgerState/eraStart": lambda ledger, p: shapes.era_summaries(
        _slot_config(ledger)[1], _slot_config(ledger)[2], int(ledger.current_slot))[-1]["start"],
    "queryLedgerState/utxo": _utxo,
}

_MEMPOOL: dict[str, Callable[[Any, Session, Any], Any]] = {
    "acquireMempool": lambda ledger, s, p: _acquire_mempool(ledger, s),
    "nextTransaction": lambda ledger, s, p: _next_transaction(s),
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
    except BadParams as exc:
        raise RpcFailure(-32602, str(exc)) from exc
    raise RpcFailure(-32601, f"Invalid request: unknown method {str(method)[:100]!r}. This devnet "
                             f"answers: {', '.join(METHODS)}.")


def _response(method: Any, request_id: Any, *, result: Any = None,
              error: dict[str, Any] | None = None) -> str:
    reply: dict[str, Any] = {"jsonrpc": "2.0"}
    if isinstance(method, str):
        reply["method"] = method
    if error is not None:
        reply["error"] = error
    else:
        reply["result"] = result
    reply["id"] = request_id
    return json.dumps(reply, separators=(",", ":"))


def answer(guard: LedgerGuard, session: Session, text: str | bytes) -> str:
    """One JSON-RPC request in, one response out; never raises (the server keeps serving)."""
    if len(text) > MAX_REQUEST_BYTES:
        return _response(None, None, error={
            "code": -32600,
            "message": f"Invalid request: the request is {len(text)} bytes; this server answers "
                       f"requests up to {MAX_REQUEST_BYTES} bytes (a transaction is at most 16 KiB)."})
    try:
        request = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return _response(None, None, error={
            "code": -32700, "message": f"Invalid JSON: {exc}. Send one JSON-RPC 2.0 object per message."})
    if not isinstance(request, dict):
        return _response(None, None, error={
            "code": -32600, "message": "Invalid request: expected a JSON object with "
                                       "'jsonrpc', 'method', 'params' and 'id'."})
    method, request_id = request.get("method"), request.get("id")
    try:
        result = dispatch(guard, session, method, request.get("params"))
    except RpcFailure as failure:
        return _response(method, request_id, error=failure.to_json())
    except Exception as exc:  # a devnet bug must not take the server down
        log.exception("devnet Ogmios: %s failed", method)
        return _response(method, request_id, error={
            "code": -32603, "message": f"Internal error while answering {method}: {exc!r}"})
    return _response(method, request_id, result=result)


@dataclass
class OgmiosServer:
    """Serves :func:`answer` over WebSocket on ``host:port`` from a background thread."""

    guard: LedgerGuard
    host: str = "127.0.0.1"
    port: int = 1337
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _server: Server | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self) -> OgmiosServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(self._open())
                self.port = self._server.sockets[0].getsockname()[1] if self.port == 0 else self.port
            except BaseException as exc:  # noqa: BLE001 (re-raised by start())
                failure.append(exc)
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_until_complete(self._server.serve_forever())
            finally:
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"ogmios:{self.port}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    async def _open(self) -> Server:
        return await serve(self._connection, self.host, self.port, max_size=MAX_FRAME_BYTES,
                           process_request=self._process_request, ping_interval=None,
                           compression=None)

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return
        server, loop = self._server, self._loop

        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def _connection(self, websocket: ServerConnection) -> None:
        session = Session()
        try:
            async for message in websocket:
                reply = await asyncio.to_thread(answer, self.guard, session, message)
                await websocket.send(reply)
        except ConnectionClosed:
            pass

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            body = json.dumps(self.guard.read(lambda ledger: health(ledger, self.guard))).encode()
            return _http(http.HTTPStatus.OK, body, "application/json;charset=utf-8")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            body = json.dumps({"hint": "this is an Ogmios JSON-RPC WebSocket endpoint; "
                                       "connect with a WebSocket client or GET /health"}).encode()
            return _http(http.HTTPStatus.UPGRADE_REQUIRED, body, "application/json;charset=utf-8")
        return None


def _http(status: http.HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("Connection", "close")])
    return Response(status.value, status.phrase, headers, body)
