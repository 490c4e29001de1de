"""The devnet's Ogmios and Kupo reached without a socket: what the embedded backend and the
benchmarks give the project's ``OgmiosClient`` and ``KupoClient`` in place of the wire.

The JSON-RPC text goes to the Ogmios ``answer`` and the HTTP request to the Kupo ``route``
(through an ``httpx.MockTransport``), so codecs, error translation and retries run exactly
as over loopback.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from runner.devnet.servers.guard import LedgerGuard
from runner.devnet.servers.kupo import HttpFailure, IndexCache, route
from runner.devnet.servers.ogmios import Session, answer
from runner.errors import ProtocolError

__all__ = ["kupo_transport", "ogmios_call"]


def ogmios_call(guard: LedgerGuard) -> Callable[[str, Mapping[str, Any] | None], Mapping[str, Any]]:
    """A JSON-RPC caller (``OgmiosClient``'s transport) answered by the devnet's Ogmios."""
    session = Session()
    ids = itertools.count()

    def call(method: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        request = {"jsonrpc": "2.0", "method": method, "id": next(ids)}
        if params is not None:
            request["params"] = dict(params)
        text = answer(guard, session, json.dumps(request))
        if text is None:  # the server answers nothing to a JSON-RPC notification; a request has an id
            raise ProtocolError(f"the embedded Ogmios did not answer {method}")
        reply: Mapping[str, Any] = json.loads(text)
        return reply

    return call


def kupo_transport(guard: LedgerGuard) -> httpx.MockTransport:
    """An ``httpx`` transport answered by the devnet's Kupo."""
    cache = IndexCache(guard)

    def handle(request: httpx.Request) -> httpx.Response:
        index = cache.current()
        try:
            reply = route(index, str(request.url.raw_path, "ascii"), request.headers.get("Accept", ""))
            status, body, ctype = int(reply.status), reply.body, reply.content_type
        except HttpFailure as failure:
            status, body, ctype = int(failure.status), {"hint": failure.hint}, "application/json"
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={
            "Content-Type": ctype, "X-Most-Recent-Checkpoint": str(index.checkpoint_slot)})

    return httpx.MockTransport(handle)
