"""JSON-RPC over HTTP ``POST /`` on the Ogmios port (one request, one response), as Ogmios v6 serves it.

Lucid Evolution's Kupmios provider sends every Ogmios call this way. The WebSocket library
refuses request bodies, so the connection looks at its first bytes: ``POST `` is answered
here (same :func:`ogmios_server.answer` as a WebSocket message, with a session that keeps no
state), anything else goes on to the WebSocket handshake untouched. A JSON-RPC error comes
back with HTTP 400 and the JSON-RPC body, a result with 200, as Ogmios does; then the
connection closes.
"""

from __future__ import annotations

import asyncio
import http
import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

#: a request head (request line and headers) larger than this is refused
MAX_HEAD_BYTES = 64 * 1024
_POST = b"POST "

Respond = Callable[[bytes], Awaitable[str]]


def connection_class(respond: Respond, max_body: int) -> type[ServerConnection]:
    """A ``ServerConnection`` that answers ``POST`` itself with ``respond(body) -> JSON text``."""
    return type("OgmiosConnection", (PostOrWebSocket,), {"answer_post": staticmethod(respond), "max_body": max_body})


class PostOrWebSocket(ServerConnection):
    answer_post: Respond
    max_body: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mode: str | None = None  # None: undecided, "ws", "post", "done"
        self._buffer = bytearray()
        self._continued = False

    def data_received(self, data: bytes) -> None:
        if self._mode == "ws":
            super().data_received(data)
            return
        if self._mode == "done":
            return
        self._buffer += data
        if self._mode is None:
            head = bytes(self._buffer[: len(_POST)])
            if len(head) < len(_POST) and _POST.startswith(head):
                return  # not enough bytes to tell
            if head != _POST:
                self._mode = "ws"
                pending, self._buffer = bytes(self._buffer), bytearray()
                super().data_received(pending)
                return
            self._mode = "post"
        self._read_post()

    def eof_received(self) -> bool | None:  # type: ignore[override]
        if self._mode in ("post", "done"):
            return True  # keep the transport open to write the answer
        return super().eof_received()

    def _read_post(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                self._finish(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, _hint("request headers too large"))
            return
        headers = _headers(bytes(self._buffer[:end]))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._finish(http.HTTPStatus.LENGTH_REQUIRED, _hint("send the JSON-RPC request with a Content-Length"))
            return
        length_text = headers.get("content-length", "")
        if not length_text.isdigit() or len(length_text) > 12:
            self._finish(http.HTTPStatus.LENGTH_REQUIRED, _hint("send the JSON-RPC request with a Content-Length"))
            return
        length = int(length_text)
        if length > self.max_body:
            self._finish(http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                         _hint(f"the request is {length} bytes; this server answers requests up to "
                               f"{self.max_body} bytes"))
            return
        body = bytes(self._buffer[end + 4: end + 4 + length])
        if len(body) < length:
            if headers.get("expect", "").lower() == "100-continue" and not self._continued:
                self._continued = True  # curl waits a second for this before a body over 1 KiB
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        self._mode = "done"
        asyncio.ensure_future(self._answer(body))

    async def _answer(self, body: bytes) -> None:
        try:
            text = await self.answer_post(body)
        except Exception as exc:  # noqa: BLE001 - a devnet bug must not hang the client
            self._finish(http.HTTPStatus.INTERNAL_SERVER_ERROR, _hint(f"internal error: {exc!r}"))
            return
        status = http.HTTPStatus.BAD_REQUEST if _is_error(text) else http.HTTPStatus.OK
        self._finish(status, text.encode())

    def _finish(self, status: http.HTTPStatus, body: bytes) -> None:
        self._mode = "done"
        head = (f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: application/json;charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        if not self.transport.is_closing():
            self.transport.write(head + body)
            self.transport.close()


def _is_error(text: str) -> bool:
    """Whether a JSON-RPC answer (as ``servers.ogmios.server`` writes it: ``error`` or ``result`` before
    ``id``; a quote inside a string is escaped) is an error, without parsing a large result."""
    error, result = text.find('"error":{'), text.find('"result":')
    return error != -1 and (result == -1 or error < result)


def _hint(message: str) -> bytes:
    return json.dumps({"hint": f"{message}; POST one JSON-RPC 2.0 request to / (Content-Type: application/json)"}
                      ).encode()


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    found: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            found[name.strip().lower()] = value.strip()
    return found


__all__ = ["MAX_HEAD_BYTES", "PostOrWebSocket", "connection_class"]
