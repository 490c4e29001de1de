"""The ledger state: UTxO set, blocks, mempool, clock, rollback (``ledger.Ledger``), and
what it is made of: transactions as parsed (``types``), genesis wallets, protocol
parameters, the slot clock, fees, CBOR/JSON codecs, the datum/script index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.ledger.cbor import container_items, map_entries
    from runner.devnet.ledger.chain_context import DevnetChainContext
    from runner.devnet.ledger.clock import SlotConfig
    from runner.devnet.ledger.faucet import balanced_payment
    from runner.devnet.ledger.fees import ledger_size, min_fee, min_utxo
    from runner.devnet.ledger.genesis import (
        FAUCET,
        Wallet,
        derive_wallet,
        faucet_policy_id,
        genesis_outputs,
    )
    from runner.devnet.ledger.index import ChainIndex
    from runner.devnet.ledger.json_codec import read_utxo_file
    from runner.devnet.ledger.ledger import BlockMode, GenesisSpec, Ledger, Listener
    from runner.devnet.ledger.params import LedgerParams
    from runner.devnet.ledger.types import AppliedTx, Block, ParsedTx, StakeAccount, Tip
    from runner.devnet.ledger.utxo import UtxoSet

__all__ = [
    "FAUCET",
    "AppliedTx",
    "Block",
    "BlockMode",
    "ChainIndex",
    "DevnetChainContext",
    "GenesisSpec",
    "Ledger",
    "LedgerParams",
    "Listener",
    "ParsedTx",
    "SlotConfig",
    "StakeAccount",
    "Tip",
    "UtxoSet",
    "Wallet",
    "balanced_payment",
    "container_items",
    "derive_wallet",
    "faucet_policy_id",
    "genesis_outputs",
    "ledger_size",
    "map_entries",
    "min_fee",
    "min_utxo",
    "read_utxo_file",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "AppliedTx": "runner.devnet.ledger.types",
    "balanced_payment": "runner.devnet.ledger.faucet",
    "Block": "runner.devnet.ledger.types",
    "BlockMode": "runner.devnet.ledger.ledger",
    "ChainIndex": "runner.devnet.ledger.index",
    "container_items": "runner.devnet.ledger.cbor",
    "derive_wallet": "runner.devnet.ledger.genesis",
    "DevnetChainContext": "runner.devnet.ledger.chain_context",
    "FAUCET": "runner.devnet.ledger.genesis",
    "faucet_policy_id": "runner.devnet.ledger.genesis",
    "genesis_outputs": "runner.devnet.ledger.genesis",
    "GenesisSpec": "runner.devnet.ledger.ledger",
    "Ledger": "runner.devnet.ledger.ledger",
    "ledger_size": "runner.devnet.ledger.fees",
    "LedgerParams": "runner.devnet.ledger.params",
    "Listener": "runner.devnet.ledger.ledger",
    "map_entries": "runner.devnet.ledger.cbor",
    "min_fee": "runner.devnet.ledger.fees",
    "min_utxo": "runner.devnet.ledger.fees",
    "ParsedTx": "runner.devnet.ledger.types",
    "read_utxo_file": "runner.devnet.ledger.json_codec",
    "SlotConfig": "runner.devnet.ledger.clock",
    "StakeAccount": "runner.devnet.ledger.types",
    "Tip": "runner.devnet.ledger.types",
    "UtxoSet": "runner.devnet.ledger.utxo",
    "Wallet": "runner.devnet.ledger.genesis",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
