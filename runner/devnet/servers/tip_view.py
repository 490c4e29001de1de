"""The ledger state at the tip: the UTxO set and stake accounts without the mempool.

``Ledger.utxo`` includes the pending transactions (the ledger applies a transaction when it
accepts it, as a node's mempool state does). A node answers ledger-state queries from the
state at its tip, and Kupo indexes blocks only: outputs of a pending transaction are not
listed, the outputs it spends are still unspent. The servers (``queryLedgerState/*``,
Kupo) read through this view; the mempool stays visible through the mempool methods only.

With an empty mempool (the default ``block_mode="submit"`` between calls) the view is the
ledger's own mapping: no copy on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pycardano import Address, TransactionInput, TransactionOutput

from runner.devnet.servers.ogmios import shapes


class TipUtxo(Mapping[TransactionInput, TransactionOutput]):
    """``ledger.utxo`` minus what pending transactions produced, plus what they consumed."""

    def __init__(self, ledger: Any) -> None:
        self._base: Mapping[TransactionInput, TransactionOutput] = ledger.utxo
        self._ledger = ledger
        self.hidden: set[TransactionInput] = set()
        self.restored: dict[TransactionInput, TransactionOutput] = {}
        for applied in pending(ledger):
            for ref, output in applied.undo.consumed:
                if ref in self.hidden:  # produced by an earlier pending transaction
                    self.hidden.discard(ref)
                else:
                    self.restored[ref] = output
            self.hidden.update(applied.undo.produced)

    def __getitem__(self, ref: TransactionInput) -> TransactionOutput:
        if ref in self.restored:
            return self.restored[ref]
        if ref in self.hidden:
            raise KeyError(ref)
        return self._base[ref]

    def __contains__(self, ref: object) -> bool:
        return ref in self.restored or (ref not in self.hidden and ref in self._base)

    def __iter__(self) -> Iterator[TransactionInput]:
        yield from (ref for ref in self._base if ref not in self.hidden)
        yield from self.restored

    def __len__(self) -> int:
        return len(self._base) - len(self.hidden) + len(self.restored)

    def at(self, address: Address) -> list[tuple[TransactionInput, TransactionOutput]]:
        wanted = shapes.address_bytes(address)
        found = [(r, o) for r, o in self._ledger.utxos_at(address) if r not in self.hidden]
        return found + [(r, o) for r, o in self.restored.items() if shapes.address_bytes(o.address) == wanted]


def pending(ledger: Any) -> list[Any]:
    """The ledger's applied pending transactions (oldest first); none for a ledger without them."""
    return list(getattr(ledger, "mempool_applied", ()))


def utxo_at_tip(ledger: Any) -> Mapping[TransactionInput, TransactionOutput]:
    """The UTxO set as of the tip block (the ledger's own mapping when the mempool is empty)."""
    if not pending(ledger):
        return ledger.utxo  # type: ignore[no-any-return]
    return TipUtxo(ledger)


def stake_at_tip(ledger: Any) -> Mapping[str, Any]:
    """Registered stake accounts as of the tip block (pending certificates undone)."""
    accounts = dict(ledger.stake_accounts)
    for applied in reversed(pending(ledger)):
        for key, before in applied.undo.stake_before.items():
            if before is None:
                accounts.pop(key, None)
            else:
                accounts[key] = before
    return accounts


def utxos_at(ledger: Any, address: Address) -> list[tuple[TransactionInput, TransactionOutput]]:
    view = utxo_at_tip(ledger)
    if isinstance(view, TipUtxo):
        return view.at(address)
    return list(ledger.utxos_at(address))


__all__ = ["TipUtxo", "stake_at_tip", "utxo_at_tip", "utxos_at"]
