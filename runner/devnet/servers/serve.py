"""A running pair of servers (Ogmios + Kupo) over one ledger: what ``devnet up``, the
rehearsal and the tests hold."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runner.devnet.servers.guard import LedgerGuard
from runner.devnet.servers.kupo.server import KupoServer
from runner.devnet.servers.ogmios.server import OgmiosServer
from runner.errors import UserInputError

__all__ = ["Serving", "serving"]


@dataclass
class Serving:
    """A running pair of servers over one ledger (what ``up`` and the tests hold)."""

    ledger: Any
    guard: LedgerGuard
    ogmios: OgmiosServer
    kupo: KupoServer

    @property
    def ogmios_url(self) -> str:
        return self.ogmios.url

    @property
    def kupo_url(self) -> str:
        return self.kupo.url

    def stop(self) -> None:
        self.kupo.stop()
        self.ogmios.stop()


@contextlib.contextmanager
def serving(ledger: Any, *, host: str = "127.0.0.1", ogmios_port: int = 0,
            kupo_port: int = 0) -> Iterator[Serving]:
    """Serve ``ledger`` until the block exits; port 0 picks a free port (tests)."""
    guard = LedgerGuard(ledger)
    ogmios = _listening(lambda: OgmiosServer(guard, host, ogmios_port).start(), host, ogmios_port,
                        "--ogmios-port")
    try:
        kupo = _listening(lambda: KupoServer(guard, host, kupo_port).start(), host, kupo_port,
                          "--kupo-port")
    except BaseException:
        ogmios.stop()
        raise
    running = Serving(ledger, guard, ogmios, kupo)
    try:
        yield running
    finally:
        running.stop()


def _listening(start: Any, host: str, port: int, flag: str) -> Any:
    """Start a server; a port that cannot be bound is the user's to fix, not a traceback."""
    try:
        return start()
    except OSError as exc:
        raise UserInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", location=flag,
                             hint=f"stop whatever uses port {port}, or choose another with {flag}") from exc
