"""The embedded devnet: a validating Conway ledger (``ledger``), its phase-1 rules
(``rules``), Plutus evaluation (``plutus``), persistence (``storage``), and the Ogmios and
Kupo servers over it (``servers``); ``cli`` is ``milestones devnet ...``. docs/INTERFACES.md
lists every module. Import the devnet through this front door (or a part's own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.home import open_home
    from runner.devnet.ledger.chain_context import DevnetChainContext
    from runner.devnet.ledger.clock import SlotConfig
    from runner.devnet.ledger.genesis import FAUCET, Wallet, derive_wallet, faucet_policy_id
    from runner.devnet.ledger.ledger import BlockMode, GenesisSpec, Ledger, Listener
    from runner.devnet.ledger.params import LedgerParams
    from runner.devnet.ledger.types import Block, Tip
    from runner.devnet.servers.guard import LedgerGuard
    from runner.devnet.servers.serve import Serving, serving
    from runner.devnet.storage.store import attach, load_ledger, save_ledger

__all__ = [
    "FAUCET",
    "Block",
    "BlockMode",
    "DevnetChainContext",
    "GenesisSpec",
    "Ledger",
    "LedgerGuard",
    "LedgerParams",
    "Listener",
    "Serving",
    "SlotConfig",
    "Tip",
    "Wallet",
    "attach",
    "derive_wallet",
    "faucet_policy_id",
    "load_ledger",
    "open_home",
    "save_ledger",
    "serving",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "attach": "runner.devnet.storage.store",
    "Block": "runner.devnet.ledger.types",
    "BlockMode": "runner.devnet.ledger.ledger",
    "derive_wallet": "runner.devnet.ledger.genesis",
    "DevnetChainContext": "runner.devnet.ledger.chain_context",
    "FAUCET": "runner.devnet.ledger.genesis",
    "faucet_policy_id": "runner.devnet.ledger.genesis",
    "GenesisSpec": "runner.devnet.ledger.ledger",
    "Ledger": "runner.devnet.ledger.ledger",
    "LedgerGuard": "runner.devnet.servers.guard",
    "LedgerParams": "runner.devnet.ledger.params",
    "Listener": "runner.devnet.ledger.ledger",
    "load_ledger": "runner.devnet.storage.store",
    "open_home": "runner.devnet.home",
    "save_ledger": "runner.devnet.storage.store",
    "Serving": "runner.devnet.servers.serve",
    "serving": "runner.devnet.servers.serve",
    "SlotConfig": "runner.devnet.ledger.clock",
    "Tip": "runner.devnet.ledger.types",
    "Wallet": "runner.devnet.ledger.genesis",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
