"""Which chain a command talks to: the embedded devnet in the data directory, or Ogmios + Kupo.

For ``network: devnet`` with no ``OGMIOS_URL``/``KUPO_URL`` set, the default is the
embedded devnet kept in ``<data-dir>/devnet`` (created on first use, saved after every
change).  It is reached through the *same* client code as a real node — the project's
``OgmiosClient`` and ``KupoClient`` — with the wire replaced by in-process calls: the
JSON-RPC text goes to the devnet's Ogmios ``answer`` and the HTTP request to its Kupo
``route`` through an ``httpx.MockTransport``.  So codecs, error translation and retries
are exercised exactly as over loopback, without sockets or threads.

With ``OGMIOS_URL``/``KUPO_URL`` (or any other network) the backend is
:class:`~runner.chain.ogmios_kupo.OgmiosKupoBackend` over the network.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from runner.chain.backend import ChainBackend
from runner.chain.kupo import KupoClient
from runner.chain.ogmios import OgmiosClient
from runner.chain.ogmios_kupo import OgmiosKupoBackend
from runner.chain.urls import shown_url
from runner.errors import StateError

DEVNET_SEED = "milestones-devnet"


@dataclass
class Connection:
    """An open backend and, for the embedded devnet, its ledger guard (fund, advance)."""

    backend: ChainBackend
    description: str
    embedded: Any = None  # LedgerGuard of the in-process devnet
    ogmios: OgmiosClient | None = None

    def ogmios_health(self, ogmios_url: str, timeout: float = 10.0) -> dict[str, Any]:
        """Ogmios' ``/health`` document (its ``version``, node tip, network synchronization)."""
        if self.embedded is not None:
            from runner.devnet.servers.ogmios import health

            guard = self.embedded
            return dict(guard.read(lambda ledger: health(ledger, guard)))
        url = ogmios_url.replace("wss://", "https://").replace("ws://", "http://").rstrip("/") + "/health"
        try:
            response = httpx.get(url, timeout=timeout)
            value = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            from runner.errors import ChainUnavailable

            raise ChainUnavailable(f"Ogmios health check failed: {exc}", location=url,
                                   hint="is Ogmios running? `curl http://localhost:1337/health`") from exc
        return value if isinstance(value, dict) else {}

    def devnet_control(self, method: str, params: Mapping[str, Any]) -> Any:
        """``devnet/...`` control methods (fund, advance, tick), in process or over the wire."""
        if self.ogmios is None:
            raise StateError("devnet controls need a devnet", hint="use --network devnet")
        return self.ogmios.request(method, dict(params))


def open_ledger(folder: Path) -> Any:
    """The devnet ledger persisted in ``folder`` (created with the default seed if new),
    opened exactly as ``milestones devnet up`` opens it."""
    from runner.devnet import open_home as _open

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    return _open(folder, DEVNET_SEED, None)


def embedded(guard: Any, description: str = "embedded devnet") -> Connection:
    from runner.devnet.servers import kupo_transport, ogmios_call

    ogmios = OgmiosClient(ogmios_call(guard))
    kupo = KupoClient("http://embedded-devnet", transport=kupo_transport(guard))
    return Connection(OgmiosKupoBackend(ogmios, kupo, closers=(kupo,)), description, guard, ogmios)


@contextlib.contextmanager
def connect(network: str, ogmios_url: str | None, kupo_url: str | None, data_dir: Path,
            *, timeout: float = 30.0) -> Iterator[Connection]:
    """Open the configured chain; closes it when the block ends."""
    if network == "devnet" and ogmios_url is None:
        from runner.devnet import LedgerGuard

        folder = data_dir / "devnet"
        with _devnet_lock(folder):
            connection = embedded(LedgerGuard(open_ledger(folder)), f"embedded devnet in {folder}")
            try:
                yield connection
            finally:
                connection.backend.close()  # type: ignore[attr-defined]
        return
    from runner.chain.ogmios import WebSocketJsonRpc

    rpc = WebSocketJsonRpc(str(ogmios_url), timeout=timeout)
    kupo = KupoClient(str(kupo_url), timeout=timeout)
    ogmios = OgmiosClient(rpc)
    backend = OgmiosKupoBackend(ogmios, kupo, closers=(rpc, kupo))
    try:
        yield Connection(backend, f"Ogmios {shown_url(str(ogmios_url))}, Kupo {shown_url(str(kupo_url))}", None,
                         ogmios if network == "devnet" else None)
    finally:
        backend.close()


@contextlib.contextmanager
def _devnet_lock(folder: Path) -> Iterator[None]:
    """The devnet's own lock (shared with ``milestones devnet up``; a killed holder's lock
    is taken over): a served devnet is used through OGMIOS_URL/KUPO_URL, never opened twice."""
    from runner.devnet.storage import lockfile

    stack = contextlib.ExitStack()
    try:
        stack.enter_context(lockfile.locked(folder, "milestones (embedded devnet)", lambda note: None))
    except StateError as exc:
        exc.hint = ("a `milestones devnet up` serves this devnet: set OGMIOS_URL and KUPO_URL to its "
                    "URLs, or stop it")
        raise
    with stack:
        yield
