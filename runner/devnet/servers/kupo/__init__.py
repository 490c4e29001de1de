"""The Kupo v2.12 HTTP server (``server``) over an index of the ledger's outputs
(``index``) and transaction metadata (``metadata``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.servers.kupo.index import KupoIndex
    from runner.devnet.servers.kupo.server import HttpFailure, IndexCache, KupoServer, route

__all__ = [
    "HttpFailure",
    "IndexCache",
    "KupoIndex",
    "KupoServer",
    "route",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "HttpFailure": "runner.devnet.servers.kupo.server",
    "IndexCache": "runner.devnet.servers.kupo.server",
    "KupoIndex": "runner.devnet.servers.kupo.index",
    "KupoServer": "runner.devnet.servers.kupo.server",
    "route": "runner.devnet.servers.kupo.server",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
