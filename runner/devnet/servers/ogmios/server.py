"""Ogmios v6.14 JSON-RPC over WebSocket, answered from the embedded devnet ledger.

Why a real socket: the production client path (and third-party clients such as
pycardano's ``OgmiosV6ChainContext``) must run unchanged against the devnet, so the
devnet speaks the wire protocol rather than offering a Python shortcut.

Design: one asyncio loop (in a background thread) owns the sockets; every request is
parsed and dispatched in a worker thread that holds :class:`LedgerGuard`'s lock, so a
slow phase-2 evaluation never stalls other connections' framing and the ledger never
sees two callers at once (the methods themselves are in ``servers.ogmios.methods``). A request is answered in order per connection, like Ogmios.
``GET /health`` on the same port answers Ogmios' health document (``curl :1337/health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from runner.devnet.servers.ogmios.chainsync import AWAIT
from runner.devnet.servers.ogmios.http import connection_class
from runner.devnet.servers.ogmios.methods import LedgerGuard, Session, dispatch, health
from runner.devnet.servers.ogmios.rpc import RpcFailure

log = logging.getLogger(__name__)

#: Seconds a connection may take to send its WebSocket handshake or its POST request.
OPEN_TIMEOUT_S = 60
#: A ``nextBlock`` waiting at the tip re-asks at least this often (seconds).
WAIT_RECHECK_S = 1.0
#: Largest request answered with a JSON-RPC error; larger frames close the socket (1009).
MAX_REQUEST_BYTES = 1024 * 1024
MAX_FRAME_BYTES = 8 * MAX_REQUEST_BYTES


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
    try:
        return json.dumps(reply, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a non-finite number in an answer: never put NaN/Infinity on the wire
        log.error("devnet Ogmios: %s produced a non-finite number", method)
        return json.dumps({"jsonrpc": "2.0", "error": {
            "code": -32603, "message": "Internal error: the answer held a number JSON cannot carry."},
            "id": None}, separators=(",", ":"))


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _invalid(message: str, method: Any = None, request_id: Any = None) -> str:
    return _response(method, request_id, error={"code": -32600, "message": f"Invalid request: {message}"})


def _checked(request: dict[str, Any]) -> str | None:
    """Why a parsed request is not a JSON-RPC 2.0 request this server can answer, or None."""
    if request.get("jsonrpc") != "2.0":
        return ("'jsonrpc' must be \"2.0\" (JSON-RPC 2.0), got "
                f"{json.dumps(request.get('jsonrpc'), allow_nan=False)[:40]}.")
    method = request.get("method")
    if not isinstance(method, str):
        kind = "missing" if method is None else f"a {type(method).__name__}"
        return f"'method' must be a string naming an Ogmios method, got {kind}."
    return None


def _safe_id(request_id: Any) -> bool:
    """An id that can be echoed as JSON (a number too large for a float parses as infinity)."""
    return not (isinstance(request_id, float) and not math.isfinite(request_id))


def answer(guard: LedgerGuard, session: Session, text: str | bytes) -> str:
    """One JSON-RPC request in, one response out, now; never raises. For in-process callers
    that cannot wait: a request that would wait (``nextBlock`` at the tip, ``acquireMempool``
    while holding an unchanged snapshot) is answered with an error saying so."""
    reply = try_answer(guard, session, text)
    if reply is not None:
        return reply
    try:
        request = json.loads(text)
        method, request_id = request.get("method"), request.get("id")
    except (ValueError, AttributeError):
        method, request_id = None, None
    return _response(method, request_id, error={
        "code": -32000, "message": f"{method} has nothing to answer yet (it waits for the next ledger "
                                   "change); ask over a WebSocket connection, which waits."})


def try_answer(guard: LedgerGuard, session: Session, text: str | bytes) -> str | None:
    """One JSON-RPC request in, one response out; never raises (the server keeps serving).

    None: nothing to say yet (``nextBlock`` at the tip); ask again when the ledger changes.
    """
    if len(text) > MAX_REQUEST_BYTES:
        return _invalid(f"the request is {len(text)} bytes; this server answers requests up to "
                        f"{MAX_REQUEST_BYTES} bytes (a transaction is at most 16 KiB).")
    try:
        request = json.loads(text, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        return _response(None, None, error={
            "code": -32700, "message": f"Invalid JSON: {exc}. Send one JSON-RPC 2.0 object per message."})
    except RecursionError:
        return _response(None, None, error={
            "code": -32700, "message": "Invalid JSON: nested too deeply for this server. "
                                       "Send one JSON-RPC 2.0 object per message."})
    if not isinstance(request, dict):
        return _invalid("expected a JSON object with 'jsonrpc', 'method', 'params' and 'id'.")
    method, request_id = request.get("method"), request.get("id")
    if not _safe_id(request_id):
        return _invalid("'id' is a number too large to echo back; use a string or an integer.", method)
    problem = _checked(request)
    if problem is not None:
        return _invalid(problem, method, request_id)
    try:
        result = dispatch(guard, session, method, request.get("params"))
    except RpcFailure as failure:
        return _response(method, request_id, error=failure.to_json())
    except Exception as exc:  # a devnet bug must not take the server down
        log.exception("devnet Ogmios: %s failed", method)
        return _response(method, request_id, error={
            "code": -32603, "message": f"Internal error while answering {method}: {exc!r}"})
    if result is AWAIT:
        return None
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
    _changed: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _listener: Callable[[], Any] | None = field(default=None, init=False)
    #: Counters for /health, touched only from the event loop's thread.
    metrics: dict[str, int] = field(default_factory=lambda: {
        "activeConnections": 0, "totalConnections": 0, "totalMessages": 0}, init=False)

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
        self._changed = asyncio.Event()
        loop = asyncio.get_running_loop()

        def listener() -> None:
            loop.call_soon_threadsafe(self._pulse)

        self._listener = listener
        self.guard.listeners.append(self._listener)
        return await serve(self._connection, self.host, self.port, max_size=MAX_FRAME_BYTES,
                           process_request=self._process_request, ping_interval=None,
                           compression=None, open_timeout=OPEN_TIMEOUT_S,
                           create_connection=connection_class(self._answer_post, MAX_REQUEST_BYTES))

    def _pulse(self) -> None:
        """The ledger changed: wake every ``nextBlock`` waiting at the tip."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _answer_post(self, body: bytes) -> str:
        self.metrics["totalMessages"] += 1
        return await asyncio.to_thread(answer, self.guard, Session(stateful=False), body)

    async def _answer(self, websocket: ServerConnection, session: Session, message: str | bytes) -> str | None:
        """The reply to one message; waits (re-asking on every ledger change, and every
        second in case the ledger was changed without the guard) while the answer is None."""
        while True:
            changed = self._changed
            reply = await asyncio.to_thread(try_answer, self.guard, session, message)
            if reply is not None or websocket.state is not State.OPEN:
                return reply
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), WAIT_RECHECK_S)

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return
        server, loop = self._server, self._loop

        async def close() -> None:
            server.close()
            await server.wait_closed()

        if self._listener in self.guard.listeners:
            self.guard.listeners.remove(self._listener)
        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def _connection(self, websocket: ServerConnection) -> None:
        session = Session()
        self.metrics["activeConnections"] += 1
        self.metrics["totalConnections"] += 1
        try:
            async for message in websocket:
                self.metrics["totalMessages"] += 1
                reply = await self._answer(websocket, session, message)
                if reply is None:
                    break
                await websocket.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.metrics["activeConnections"] -= 1

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            body = json.dumps(self.guard.read(lambda ledger: health(ledger, self.guard, self.metrics))).encode()
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


__all__ = ["MAX_REQUEST_BYTES", "LedgerGuard", "OgmiosServer", "answer", "try_answer"]
