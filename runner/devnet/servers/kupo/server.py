"""Kupo v2.12's HTTP API, answered from the embedded devnet ledger.

Why: pycardano's ``KupoOgmiosV6ChainContext`` (and the project's Kupo client) read UTxOs,
datums and scripts from Kupo, and wait for ``X-Most-Recent-Checkpoint`` to pass the slot
of their last transaction (read-your-writes). The devnet serves the same paths so that
path runs unchanged.

The index (every output ever created, where, and where it was spent) is rebuilt from the
ledger's blocks when the tip changes, under :class:`LedgerGuard`'s lock; requests are
answered from that immutable snapshot. Stdlib ``ThreadingHTTPServer``: one thread per
connection, enough for loopback use.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from runner.devnet.servers.guard import LedgerGuard
from runner.devnet.servers.kupo import index as kupo_index
from runner.devnet.servers.kupo.index import KupoIndex, Match, PatternError

log = logging.getLogger(__name__)

VERSION = "v2.12.0 (milestones devnet)"
JSON_TYPE = "application/json;charset=utf-8"
_HASH64 = re.compile(r"^[0-9a-f]{64}$")
_HASH56 = re.compile(r"^[0-9a-f]{56}$")
FLAGS = frozenset({"unspent", "spent", "resolve_hashes"})
FILTERS = frozenset({"order", "policy_id", "asset_name", "transaction_id", "output_index",
                     "created_after", "created_before", "spent_after", "spent_before"})


class HttpFailure(Exception):
    def __init__(self, status: HTTPStatus, hint: str) -> None:
        super().__init__(hint)
        self.status, self.hint = status, hint


@dataclass
class Reply:
    status: HTTPStatus
    body: Any
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class IndexCache:
    """The newest :class:`KupoIndex`, rebuilt only when the ledger's tip moves."""

    def __init__(self, guard: LedgerGuard) -> None:
        self.guard = guard
        self._lock = threading.Lock()
        self._key: Any = None
        self._index: KupoIndex | None = None
        self._history = kupo_index.ChainHistory()

    def current(self) -> KupoIndex:
        with self._lock:
            return self.guard.read(self._refresh)

    def _refresh(self, ledger: Any) -> KupoIndex:
        tip = ledger.tip
        key = (tip.slot, tip.block_hash, tip.height, len(ledger.utxo))
        if self._index is None or key != self._key:
            self._index = self._history.snapshot(ledger, self._datum, self._script)
            self._index.lookup_metadata = self.metadata
            self._key = key
        return self._index


    def metadata(self, slot: int, transaction_id: str | None) -> tuple[list[Any], str | None]:
        from runner.devnet.servers.kupo.metadata import metadata_at

        return self.guard.read(lambda ledger: metadata_at(ledger, slot, transaction_id))

    def _datum(self, digest: str) -> bytes | None:
        found = self.guard.read(lambda ledger: ledger.datum_by_hash(digest))
        return None if found is None else bytes(found)

    def _script(self, digest: str) -> tuple[str, bytes] | None:
        found = self.guard.read(lambda ledger: ledger.script_by_hash(digest))
        if found is None:
            return None
        language, raw = found
        return _language_name(language), bytes(raw)


def _language_name(language: Any) -> str:
    """Kupo's names ("native", "plutus:v1".."plutus:v3") from whatever the ledger calls them."""
    text = str(language).lower().replace("plutus", "").replace(":", "").replace("_", "").lstrip("v")
    return "native" if text in ("native", "") else f"plutus:v{text}"


def _query(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return unquote(parts.path), parse_qs(parts.query, keep_blank_values=True)


def _matches(index: KupoIndex, pattern: str | None, query: dict[str, list[str]]) -> Reply:
    unknown = sorted(set(query) - FLAGS - FILTERS)
    if unknown:
        raise HttpFailure(HTTPStatus.BAD_REQUEST, f"unknown query parameter(s): {', '.join(unknown)}; "
                                                  f"supported: {', '.join(sorted(FLAGS | FILTERS))}")
    if "spent" in query and "unspent" in query:
        raise HttpFailure(HTTPStatus.BAD_REQUEST, "'?spent' and '?unspent' are mutually exclusive")
    try:
        selected = index.select(pattern or "*", {k: v[-1] for k, v in query.items()})
    except PatternError as exc:
        raise HttpFailure(HTTPStatus.BAD_REQUEST, str(exc)) from exc
    resolve = "resolve_hashes" in query
    return Reply(HTTPStatus.OK, [m.to_json(index, resolve) for m in selected])


def _datum(index: KupoIndex, digest: str) -> Reply:
    if not _HASH64.match(digest):
        raise HttpFailure(HTTPStatus.BAD_REQUEST, "a datum hash is 64 lowercase hex characters "
                                                  "(blake2b-256 of the datum's CBOR)")
    datum = index.datum(digest)
    return Reply(HTTPStatus.OK, None if datum is None else {"datum": datum.hex()})


def _script(index: KupoIndex, digest: str) -> Reply:
    if not _HASH56.match(digest):
        raise HttpFailure(HTTPStatus.BAD_REQUEST, "a script hash is 56 lowercase hex characters "
                                                  "(blake2b-224 of the tagged script)")
    found = index.script(digest)
    return Reply(HTTPStatus.OK, None if found is None else {"language": found[0], "script": found[1].hex()})


def _checkpoint(index: KupoIndex, slot_text: str, query: dict[str, list[str]]) -> Reply:
    if not slot_text.isdigit() or len(slot_text) > 20:
        raise HttpFailure(HTTPStatus.BAD_REQUEST, "a checkpoint is looked up by an absolute slot number "
                                                  "(at most 20 digits)")
    point = index.checkpoint_at(int(slot_text), strict="strict" in query)
    return Reply(HTTPStatus.OK, point)


#: (slot, transaction id or None) -> (metadata of the block at that slot, its header hash)
MetadataLookup = Callable[[int, "str | None"], "tuple[list[Any], str | None]"]


def _metadata(slot_text: str, query: dict[str, list[str]], lookup: MetadataLookup) -> Reply:
    if not slot_text.isdigit() or len(slot_text) > 20:
        raise HttpFailure(HTTPStatus.BAD_REQUEST, "metadata is looked up by an absolute slot number "
                                                  "(at most 20 digits)")
    unknown = sorted(set(query) - {"transaction_id"})
    if unknown:
        raise HttpFailure(HTTPStatus.BAD_REQUEST, f"unknown query parameter(s): {', '.join(unknown)}; "
                                                  "supported: transaction_id")
    tx_id = query["transaction_id"][-1] if "transaction_id" in query else None
    if tx_id is not None and not _HASH64.match(tx_id):
        raise HttpFailure(HTTPStatus.BAD_REQUEST, "transaction_id is 64 lowercase hex characters")
    found, header_hash = lookup(int(slot_text), tx_id)
    return Reply(HTTPStatus.OK, found, headers={"X-Block-Header-Hash": header_hash} if header_hash else {})


def _patterns(pattern: str | None) -> Reply:
    """The devnet indexes everything: its one pattern is ``*``, which includes any pattern."""
    if pattern is not None:
        try:
            kupo_index.matcher(pattern)
        except PatternError as exc:
            raise HttpFailure(HTTPStatus.BAD_REQUEST, str(exc)) from exc
    return Reply(HTTPStatus.OK, ["*"])


def _health(index: KupoIndex, accept: str) -> Reply:
    health = {"connection_status": "connected", "most_recent_checkpoint": index.checkpoint_slot,
              "most_recent_node_tip": index.checkpoint_slot, "seconds_since_last_block": 0,
              "network_synchronization": 1, "configuration": {"indexes": "installed"},
              "version": VERSION}
    if "text/plain" in accept:
        lines = [f"# TYPE kupo_{name} gauge\nkupo_{name}  {value}\n" for name, value in (
            ("configuration_indexes", 1.0), ("connection_status", 1.0),
            ("most_recent_checkpoint", index.checkpoint_slot),
            ("most_recent_node_tip", index.checkpoint_slot),
            ("network_synchronization", 1.0), ("seconds_since_last_block", 0.0))]
        return Reply(HTTPStatus.OK, "\n".join(lines), "text/plain;charset=utf-8")
    return Reply(HTTPStatus.OK, health)


def route(index: KupoIndex, url: str, accept: str = "", metadata: MetadataLookup | None = None) -> Reply:
    """Answer one GET; raises :class:`HttpFailure` for a request Kupo would refuse."""
    path, query = _query(url)
    parts = [p for p in path.split("/") if p]
    if parts == ["health"]:
        return _health(index, accept)
    if parts and parts[0] == "matches" and len(parts) <= 3:
        return _matches(index, "/".join(parts[1:]) or None, query)
    if len(parts) == 2 and parts[0] == "datums":
        return _datum(index, parts[1])
    if len(parts) == 2 and parts[0] == "scripts":
        return _script(index, parts[1])
    if parts == ["checkpoints"]:
        return Reply(HTTPStatus.OK, index.checkpoints())
    if len(parts) == 2 and parts[0] == "checkpoints":
        return _checkpoint(index, parts[1], query)
    if len(parts) == 2 and parts[0] == "metadata":
        return _metadata(parts[1], query, metadata or index.lookup_metadata)
    if parts and parts[0] == "patterns" and len(parts) <= 3:
        return _patterns("/".join(parts[1:]) or None)
    raise HttpFailure(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}; this devnet serves /health, "
                                            "/matches/{pattern}, /datums/{hash}, /scripts/{hash}, "
                                            "/checkpoints, /metadata/{slot}, /patterns")


class _Handler(BaseHTTPRequestHandler):
    server_version = "kupo-devnet"
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment: with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms per request on loopback).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    cache: IndexCache  # set on the subclass made by KupoServer

    def do_GET(self) -> None:
        index = self.cache.current()
        try:
            reply = route(index, self.path, self.headers.get("Accept", ""))
        except HttpFailure as failure:
            reply = Reply(failure.status, {"hint": failure.hint})
        except Exception as exc:  # a devnet bug must not take the server down
            log.exception("devnet Kupo: GET %s failed", self.path)
            reply = Reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"hint": f"internal error: {exc!r}"})
        self._send(reply, index.checkpoint_slot)

    def _refuse(self) -> None:
        self.close_connection = True
        reply = Reply(HTTPStatus.METHOD_NOT_ALLOWED,
                      {"hint": f"{self.command} is not served by the devnet's Kupo; use GET"})
        self._send(reply, self.cache.current().checkpoint_slot)

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (garbled request line, unsupported method) in Kupo's shape."""
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # a garbled request line leaves HTTP/0.9: no headers
        status = HTTPStatus(code)
        reply = Reply(status, {"hint": f"{message or status.phrase}: this devnet Kupo serves "
                                       "GET /health, /matches, /datums, /scripts, /checkpoints"})
        self._send(reply, self.cache.current().checkpoint_slot)

    def _send(self, reply: Reply, checkpoint: int) -> None:
        if isinstance(reply.body, str):
            body = reply.body.encode()
        else:
            body = json.dumps(reply.body, separators=(",", ":")).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Most-Recent-Checkpoint", str(checkpoint))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("kupo %s - %s", self.address_string(), format % args)


class KupoServer:
    """Serves :func:`route` on ``host:port`` from a background thread."""

    def __init__(self, guard: LedgerGuard, host: str = "127.0.0.1", port: int = 1442) -> None:
        handler: Callable[..., BaseHTTPRequestHandler] = type(
            "KupoHandler", (_Handler,), {"cache": IndexCache(guard)})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> KupoServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"kupo:{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


__all__ = ["HttpFailure", "KupoServer", "Match", "route"]
