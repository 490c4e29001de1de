"""The embedded devnet ledger: UTxO set, blocks, mempool, clock, rollback; listeners of its changes.

A validating Conway ledger in one process, so rehearsals and tests run the real rules
without a node. Blocks are formed on each submission (default, ``block_mode="submit"``)
or on :meth:`Ledger.tick`. A block takes one slot: when the clock has not moved past the
tip, the block goes in the next slot and the clock follows. Validation happens at the
slot of the block the transaction will land in.

Persistence is not the ledger's business: every change (a submission, a block, the
clock, a rollback, a reset) is announced to the ledger's listeners (:meth:`Ledger.subscribe`),
and :func:`runner.devnet.storage.attach` subscribes the one that keeps a directory in step.
The ledger never imports the storage (tests/test_architecture.py).

``utxo`` includes mempool transactions (they are applied when accepted, as a node's
mempool state is); in the default mode the mempool is always empty between calls.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from pycardano import (
    Address,
    Network,
    Transaction,
    TransactionId,
    TransactionInput,
    TransactionOutput,
)

from runner.devnet.ledger import speed as ledger_speed
from runner.devnet.ledger.apply import apply_validated, undo_applied
from runner.devnet.ledger.clock import SlotConfig
from runner.devnet.ledger.genesis import FAUCET, Wallet, derive_wallet, genesis_outputs
from runner.devnet.ledger.index import ChainIndex
from runner.devnet.ledger.json_codec import read_utxo_file
from runner.devnet.ledger.params import LedgerParams
from runner.devnet.ledger.types import (
    AppliedTx,
    Block,
    ParsedTx,
    StakeAccount,
    Tip,
    applied_ttl,
    block_hash,
    tx_bytes,
)
from runner.devnet.ledger.utxo import UtxoSet, address_key
from runner.devnet.rules import utxo as rules
from runner.devnet.rules.registry import Validation, evaluate_unchecked, run_phase2, validate_phase1
from runner.errors import LedgerRejection, UserInputError

BlockMode = Literal["submit", "tick"]
#: told of every change, after it is made; what it raises reaches the caller of the change
Listener = Callable[["Ledger"], None]
#: the largest slot a transaction's validity interval can name (a CBOR uint64)
MAX_SLOT = 2**64 - 1

ledger_speed.install()


@dataclass(frozen=True)
class GenesisSpec:
    """Everything needed to rebuild the genesis state (for ``reset``)."""

    seed: str
    wallets: tuple[str, ...]
    initial_lovelace: int
    utxos_per_wallet: int
    faucet_lovelace: int
    start_slot: int
    extra_utxo: tuple[tuple[TransactionInput, TransactionOutput], ...] = ()


class Ledger:
    """See docs/INTERFACES.md for the public API; everything else is private."""

    def __init__(self, params: LedgerParams, slot_config: SlotConfig, genesis: GenesisSpec,
                 *, network: Network = Network.TESTNET, block_mode: BlockMode = "submit") -> None:
        self.params = params
        self.slot_config = slot_config
        self.network = network
        self.block_mode: BlockMode = block_mode
        self.genesis = genesis
        self._listeners: list[Listener] = []
        self._wallets = {name: derive_wallet(genesis.seed, name, network) for name in self._wallet_names()}
        self._init_state()

    # --- construction -------------------------------------------------------------------

    @classmethod
    def create(cls, seed: str = "devnet", params: LedgerParams | None = None,
               slot_config: SlotConfig | None = None, wallets: Iterable[str] = ("alice", "bob"),
               initial_lovelace: int = 100_000_000_000, *, utxos_per_wallet: int = 5,
               faucet_lovelace: int = 10_000_000_000_000, start_slot: int = 0,
               block_mode: BlockMode = "submit",
               extra_utxo: Iterable[tuple[TransactionInput, TransactionOutput]] = ()) -> Ledger:
        spec = GenesisSpec(seed, tuple(wallets), initial_lovelace, utxos_per_wallet,
                           faucet_lovelace, start_slot, tuple(extra_utxo))
        return cls(params or LedgerParams.mainnet(), slot_config or SlotConfig(0), spec,
                   block_mode=block_mode)

    @classmethod
    def from_utxo_file(cls, path: str | Path, slot: int, **kwargs: Any) -> Ledger:
        """Start from an Ogmios-shaped UTxO list (``queryLedgerState/utxo`` result) at ``slot``."""
        return cls.create(start_slot=slot, extra_utxo=read_utxo_file(path), **kwargs)

    # --- listeners ----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(ledger)`` after every change; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self.unsubscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener`` (the very object subscribed; unknown: nothing happens)."""
        self._listeners = [x for x in self._listeners if x is not listener]

    @property
    def listeners(self) -> tuple[Listener, ...]:
        return tuple(self._listeners)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    def reset(self) -> None:
        """Back to the genesis state (same seed, same wallets, same UTxOs)."""
        self._init_state()
        self._changed()

    def _wallet_names(self) -> list[str]:
        names = list(self.genesis.wallets)
        return names + [FAUCET] if FAUCET not in names else names

    def _init_state(self) -> None:
        spec = self.genesis
        wallets = [self._wallets[n] for n in self._wallet_names()]
        self._utxo = UtxoSet(dict(
            genesis_outputs(spec.seed, wallets, initial_lovelace=spec.initial_lovelace,
                            utxos_per_wallet=spec.utxos_per_wallet, faucet_lovelace=spec.faucet_lovelace)
        ))
        for ref, out in spec.extra_utxo:
            self._utxo.add(ref, out)
        self._stake: dict[str, StakeAccount] = {}
        genesis_hash = hashlib.blake2b(f"genesis-block:{spec.seed}".encode(), digest_size=32).hexdigest()
        self._blocks: list[Block] = [Block(spec.start_slot, genesis_hash, 0, [])]
        self._mempool: list[AppliedTx] = []
        self._current_slot = spec.start_slot
        self._confirmed: dict[str, int] = {}
        self.index = ChainIndex()
        for out in self._utxo.values():
            self.index.add_output(out)

    # --- queries ------------------------------------------------------------------------

    @property
    def tip(self) -> Tip:
        return self._blocks[-1].tip

    @property
    def current_slot(self) -> int:
        return self._current_slot

    @property
    def epoch(self) -> int:
        return self.slot_config.epoch_of_slot(self._current_slot)

    @property
    def utxo(self) -> Mapping[TransactionInput, TransactionOutput]:
        return self._utxo

    @property
    def stake_accounts(self) -> Mapping[str, StakeAccount]:
        return self._stake

    @property
    def blocks(self) -> list[Block]:
        return list(self._blocks)

    @property
    def mempool(self) -> list[str]:
        return [t.tx_id for t in self._mempool]

    @property
    def mempool_applied(self) -> list[AppliedTx]:
        """The pending transactions as applied (with their undo records), oldest first:
        what the servers subtract from ``utxo`` to answer from the state at the tip."""
        return list(self._mempool)

    @property
    def mempool_transactions(self) -> list[tuple[str, bytes]]:
        """(tx id, CBOR as submitted) of the pending transactions, oldest first."""
        return [(t.tx_id, t.cbor) for t in self._mempool]

    def utxos_at(self, address: Address | str) -> list[tuple[TransactionInput, TransactionOutput]]:
        return self._utxo.at(address)

    def resolve(self, refs: Iterable[TransactionInput]) -> list[tuple[TransactionInput, TransactionOutput]]:
        return [(r, self._utxo[r]) for r in refs if r in self._utxo]

    def has_transaction(self, tx_id: str) -> bool:
        """True once the transaction is in a block (not while it waits in the mempool)."""
        return tx_id in self._confirmed

    def in_mempool(self, tx_id: str) -> bool:
        return any(t.tx_id == tx_id for t in self._mempool)

    def datum_by_hash(self, datum_hash: str) -> bytes | None:
        return self.index.datums.get(datum_hash)

    def script_by_hash(self, script_hash: str) -> tuple[str, bytes] | None:
        return self.index.scripts.get(script_hash)

    def wallet(self, name: str) -> Wallet:
        try:
            return self._wallets[name]
        except KeyError:
            raise UserInputError(f"no devnet wallet named {name!r}",
                                 hint=f"known wallets: {', '.join(sorted(self._wallets))}") from None

    @property
    def wallets(self) -> Mapping[str, Wallet]:
        return dict(self._wallets)

    # --- transactions -------------------------------------------------------------------

    def _context(self, utxo: Mapping[TransactionInput, TransactionOutput] | None = None,
                 *, check_signatures: bool = True) -> rules.RuleContext:
        return rules.RuleContext(self.params, self.network, self._validation_slot(),
                                 utxo if utxo is not None else self._utxo, self._stake,
                                 check_signatures=check_signatures)

    def _validation_slot(self) -> int:
        """The slot of the next block: where a transaction accepted now will land."""
        return max(self._current_slot, self.tip.slot + 1)

    def submit(self, tx: bytes | str | Transaction) -> str:
        """Validate (phase 1 and 2) and apply; returns the tx id. Raises LedgerRejection."""
        ptx = ParsedTx.parse(tx_bytes(tx))
        self._admit(self._validate_and_apply(ptx))
        self._changed()
        return ptx.tx_id_hex

    def _admit(self, applied: AppliedTx) -> None:
        """Put an applied transaction in the mempool (and in a block in "submit" mode).

        All or nothing: if anything fails on the way, the transaction is undone and the
        mempool, blocks and clock are put back as they were.
        """
        mempool, height, slot = list(self._mempool), len(self._blocks), self._current_slot
        try:
            self._mempool.append(applied)
            if self.block_mode == "submit":
                self._form_block()
        except BaseException:
            for block in self._blocks[height:]:
                for t in block.txs:
                    self._confirmed.pop(t.tx_id, None)
            del self._blocks[height:]
            self._mempool, self._current_slot = mempool, slot
            self._undo(applied)
            raise

    def _validate_and_apply(self, ptx: ParsedTx) -> AppliedTx:
        ctx = self._context()
        validation = validate_phase1(ctx, ptx)
        run_phase2(ctx, validation, self.slot_config)
        return self._apply(validation)

    def evaluate(self, tx: bytes | str | Transaction,
                 additional_utxo: Mapping[TransactionInput, TransactionOutput] | None = None) -> list[Any]:
        """Run the scripts under the maximum budget; ignores declared budgets, fee and signatures.

        pycardano evaluates drafts (zero budgets, fake witnesses, provisional fee), so only
        what the scripts need is checked: inputs exist, scripts and redeemers line up.
        """
        ptx = ParsedTx.parse(tx_bytes(tx))
        # ChainMap only reads from the second map; the UtxoSet is never written through it.
        utxo = ChainMap(dict(additional_utxo or {}), cast(dict[TransactionInput, TransactionOutput], self._utxo))
        return evaluate_unchecked(self._context(utxo, check_signatures=False), ptx, self.slot_config)

    def _apply(self, validation: Validation) -> AppliedTx:
        return apply_validated(self._utxo, self._stake, self.index, validation)

    def _undo(self, applied: AppliedTx) -> None:
        undo_applied(self._utxo, self._stake, applied)

    # --- blocks and time ----------------------------------------------------------------

    def _form_block(self) -> Block:
        prev = self._blocks[-1]
        slot = self._validation_slot()
        ids = [t.tx_id for t in self._mempool]
        block = Block(slot, block_hash(prev.block_hash, slot, prev.height + 1, ids), prev.height + 1,
                      list(self._mempool))
        self._blocks.append(block)
        for tx_id in ids:
            self._confirmed[tx_id] = block.height
        self._mempool = []
        self._current_slot = slot
        return block

    def tick(self) -> Tip:
        """Form a block from the mempool now (an empty block if the mempool is empty).

        Mempool transactions whose validity interval ended before this block's slot (the
        clock moved on since they were accepted) are dropped, and those that depended on
        them with them, as a node's mempool would.
        """
        slot = self._validation_slot()
        if any(ttl is not None and ttl <= slot for ttl in (applied_ttl(t) for t in self._mempool)):
            pending, self._mempool = self._mempool, []
            for applied in reversed(pending):
                self._undo(applied)
            self._readmit(pending)
        self._form_block()
        self._changed()
        return self.tip

    def _readmit(self, candidates: list[AppliedTx]) -> list[str]:
        """Re-validate transactions into the mempool, in order; the ones now invalid vanish."""
        kept = []
        for applied in candidates:
            try:
                self._mempool.append(self._validate_and_apply(ParsedTx.parse(applied.cbor)))
                kept.append(applied.tx_id)
            except LedgerRejection:
                continue
        return kept

    def advance_slots(self, n: int) -> int:
        if n < 0:
            raise UserInputError(f"cannot move the devnet clock back ({n} slots)",
                                 hint="use rollback to undo blocks; time only moves forward")
        if self._current_slot + n > MAX_SLOT:
            raise UserInputError(f"cannot move the devnet clock {n} slots: slots are 64-bit on Cardano",
                                 hint=f"stay below slot {MAX_SLOT}")
        self._current_slot += n
        self._changed()
        return self._current_slot

    def advance_to_posix_ms(self, posix_ms: int) -> int:
        """Move the clock to the slot containing ``posix_ms``; never backwards."""
        target = self.slot_config.posix_ms_to_slot(posix_ms)
        return self.advance_slots(max(0, target - self._current_slot))

    def rollback(self, n_blocks: int, to_mempool: bool = False) -> list[str]:
        """Drop the last ``n_blocks`` blocks; their transactions return to the mempool
        (re-validated now; those no longer valid vanish) or vanish. Returns the ids kept."""
        if n_blocks <= 0:
            return []
        if n_blocks >= len(self._blocks):
            raise UserInputError(f"cannot roll back {n_blocks} blocks: the chain has {len(self._blocks) - 1}",
                                 hint="the genesis block cannot be rolled back; use reset()")
        pending = self._mempool
        for applied in reversed(pending):
            self._undo(applied)
        dropped = self._blocks[-n_blocks:]
        del self._blocks[-n_blocks:]
        for block in reversed(dropped):
            for applied in reversed(block.txs):
                self._undo(applied)
                self._confirmed.pop(applied.tx_id, None)
        self._mempool = []
        candidates = ([t for b in dropped for t in b.txs] if to_mempool else []) + pending
        kept = self._readmit(candidates)
        self._changed()
        return kept

    # --- faucet ---------------------------------------------------------------------------

    def fund(self, address: Address | str, lovelace: int,
             assets: Mapping[str | bytes, int] | None = None) -> TransactionInput:
        """Pay ``lovelace`` (and mint test tokens ``assets``) to ``address`` with a real,
        signed faucet transaction. Returns the funded output."""
        from runner.devnet.ledger.faucet import faucet_payment

        target = address if isinstance(address, Address) else Address.from_primitive(address_key(address))
        if target.payment_part is None:
            raise UserInputError(f"cannot fund {target}: a reward (stake) address cannot hold outputs",
                                 hint="fund a payment address (addr_test1...); the ledger refuses outputs "
                                      "at stake addresses")
        bad = {str(name): qty for name, qty in (assets or {}).items() if int(qty) <= 0}
        if bad:
            raise UserInputError(f"cannot fund token quantities that are not positive: {bad}",
                                 hint="give each asset a quantity of at least 1")
        faucet = self.wallet(FAUCET)
        tx = faucet_payment(self.params, faucet, self.utxos_at(faucet.address), target, lovelace, assets or {})
        tx_id = self.submit(tx)
        return TransactionInput(TransactionId(bytes.fromhex(tx_id)), 0)
