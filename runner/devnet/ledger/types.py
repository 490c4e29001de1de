"""Typed pieces of the devnet ledger state: tip, blocks, undo records, parsed transactions.

Rollback must restore the UTxO set *exactly*, so every applied transaction keeps an
:class:`Undo` (what it consumed, what it produced, which stake accounts it changed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pycardano import (
    Address,
    RedeemerMap,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionInput,
    TransactionOutput,
    VerificationKeyHash,
)

from runner.devnet.ledger.cbor import TxSpans, deserialisation_error, tx_spans
from runner.devnet.ledger.decode import check_wellformed


@dataclass(frozen=True)
class Tip:
    slot: int
    block_hash: str
    height: int


@dataclass
class StakeAccount:
    """A registered stake credential. Rewards never accrue on the devnet (balance 0)."""

    deposit: int
    drep: str | None = None
    pool: str | None = None

    def to_list(self) -> list[Any]:
        return [self.deposit, self.drep, self.pool]

    @classmethod
    def from_list(cls, raw: list[Any]) -> StakeAccount:
        return cls(int(raw[0]), raw[1], raw[2])


@dataclass
class Undo:
    consumed: list[tuple[TransactionInput, TransactionOutput]] = field(default_factory=list)
    produced: list[TransactionInput] = field(default_factory=list)
    stake_before: dict[str, StakeAccount | None] = field(default_factory=dict)
    #: CBOR of each consumed output, parallel to ``consumed`` (persistence without re-encoding)
    consumed_raw: list[bytes] = field(default_factory=list)


@dataclass
class AppliedTx:
    tx_id: str
    cbor: bytes
    undo: Undo
    valid: bool = True
    #: its persisted form, computed once (an applied transaction never changes)
    persisted: list[Any] | None = field(default=None, compare=False, repr=False)


@dataclass
class Block:
    slot: int
    block_hash: str
    height: int
    txs: list[AppliedTx]

    @property
    def tip(self) -> Tip:
        return Tip(self.slot, self.block_hash, self.height)


def block_hash(prev: str, slot: int, height: int, tx_ids: list[str]) -> str:
    material = f"{prev}:{slot}:{height}:{','.join(tx_ids)}".encode()
    return hashlib.blake2b(material, digest_size=32).hexdigest()


@dataclass(frozen=True)
class RedeemerEntry:
    """A redeemer as the rules need it, whatever its encoding (list or map)."""

    tag: RedeemerTag
    index: int
    data: Any
    mem: int
    steps: int


@dataclass(frozen=True)
class ParsedTx:
    """A transaction, its original byte spans, and its id (hash of the submitted body)."""

    tx: Transaction
    spans: TxSpans
    tx_id: bytes

    @classmethod
    def parse(cls, raw: bytes) -> ParsedTx:
        spans = tx_spans(raw)
        check_wellformed(spans)
        try:
            tx = Transaction.from_cbor(raw)
        except Exception as exc:  # pycardano raises many kinds on bad input
            raise deserialisation_error(f"{type(exc).__name__}: {exc}") from exc
        tx_id = hashlib.blake2b(spans.body, digest_size=32).digest()
        return cls(tx, spans, tx_id)

    @property
    def tx_id_hex(self) -> str:
        return self.tx_id.hex()

    @property
    def is_valid(self) -> bool:
        return self.tx.valid is not False

    def redeemers(self) -> list[RedeemerEntry]:
        raw = self.tx.transaction_witness_set.redeemer
        if not raw:
            return []
        if isinstance(raw, RedeemerMap):
            return [
                RedeemerEntry(k.tag, k.index, v.data, v.ex_units.mem, v.ex_units.steps)
                for k, v in raw.items()
            ]
        return [
            RedeemerEntry(r.tag, r.index, r.data, r.ex_units.mem if r.ex_units else 0,
                          r.ex_units.steps if r.ex_units else 0)
            for r in raw
            if r.tag is not None
        ]


def credential_key(credential: VerificationKeyHash | ScriptHash) -> str:
    """A stake/payment credential as a dict key: "key:<hex>" or "script:<hex>"."""
    kind = "script" if isinstance(credential, ScriptHash) else "key"
    return f"{kind}:{credential.payload.hex()}"


def reward_account_credential(reward_account: bytes) -> tuple[str, int]:
    """(credential key, network id) of a reward address in bytes (header e0/e1/f0/f1)."""
    header = reward_account[0]
    kind = "script" if header >> 4 == 0xF else "key"
    return f"{kind}:{reward_account[1:29].hex()}", header & 0x0F


def reward_account_sort_key(reward_account: bytes) -> tuple[int, int, bytes]:
    """The ledger's order of withdrawals: network, then script credentials before keys.

    (cardano-ledger's ``Credential`` derives Ord with ``ScriptHashObj`` first, so this is
    not the byte order of the reward addresses.) Withdraw redeemer indices follow it.
    """
    header = reward_account[0]
    is_key = 0 if header >> 4 == 0xF else 1
    return (header & 0x0F, is_key, reward_account[1:])


def reward_address_text(reward_account: bytes) -> str:
    return str(Address.from_primitive(reward_account))


def applied_ttl(applied: AppliedTx) -> int | None:
    """The validity upper bound of an applied transaction (None: no bound)."""
    ttl = ParsedTx.parse(applied.cbor).tx.transaction_body.ttl
    return None if ttl is None else int(ttl)


def tx_bytes(tx: bytes | str | Transaction) -> bytes:
    """A submitted transaction as bytes: pycardano object, raw bytes or hex text."""
    if isinstance(tx, Transaction):
        return bytes(tx.to_cbor())
    if isinstance(tx, str):
        try:
            return bytes.fromhex(tx)
        except ValueError as exc:
            raise deserialisation_error("not hexadecimal") from exc
    return bytes(tx)
