"""The devnet served as Ogmios v6 (``ogmios``, WebSocket and HTTP JSON-RPC) and Kupo v2
(``kupo``, HTTP) over one ledger; ``guard`` serialises access, ``tip_view`` answers from the
state at the tip, ``wallclock`` lets chain time follow real time, ``serve`` runs the pair, ``in_process`` answers the project's clients without a socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.servers.guard import LedgerGuard
    from runner.devnet.servers.in_process import kupo_transport, ogmios_call
    from runner.devnet.servers.kupo.server import KupoServer
    from runner.devnet.servers.ogmios.server import OgmiosServer
    from runner.devnet.servers.serve import Serving, serving

__all__ = [
    "KupoServer",
    "LedgerGuard",
    "OgmiosServer",
    "Serving",
    "kupo_transport",
    "ogmios_call",
    "serving",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "KupoServer": "runner.devnet.servers.kupo.server",
    "LedgerGuard": "runner.devnet.servers.guard",
    "OgmiosServer": "runner.devnet.servers.ogmios.server",
    "Serving": "runner.devnet.servers.serve",
    "serving": "runner.devnet.servers.serve",
    "kupo_transport": "runner.devnet.servers.in_process",
    "ogmios_call": "runner.devnet.servers.in_process",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
