"""The Ogmios v6.14 JSON-RPC server: transport (``server``, ``http``), request parsing
(``rpc``), the methods (``methods``, ``queries``, ``chainsync``, ``control`` for the
devnet-only ``devnet/...`` methods) and the JSON shapes (``shapes``, ``tx``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.servers.ogmios.methods import Session, dispatch, health
    from runner.devnet.servers.ogmios.rpc import BadParams, parse_address
    from runner.devnet.servers.ogmios.server import OgmiosServer, answer

__all__ = [
    "BadParams",
    "OgmiosServer",
    "Session",
    "answer",
    "dispatch",
    "health",
    "parse_address",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "answer": "runner.devnet.servers.ogmios.server",
    "BadParams": "runner.devnet.servers.ogmios.rpc",
    "dispatch": "runner.devnet.servers.ogmios.methods",
    "health": "runner.devnet.servers.ogmios.methods",
    "OgmiosServer": "runner.devnet.servers.ogmios.server",
    "parse_address": "runner.devnet.servers.ogmios.rpc",
    "Session": "runner.devnet.servers.ogmios.methods",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
