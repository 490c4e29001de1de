"""Kupo's view of the devnet: every output ever created, where, and where it was spent.

Kupo answers from an index of the chain, not from the UTxO set: ``?spent`` matches,
``created_at`` points and ``spent_at`` redeemers need history. The devnet's blocks keep,
per transaction, what it consumed and produced (the ledger's undo records), which is
exactly that history. The index grows block by block; a rollback (the blocks it saw are
no longer the ledger's) rebuilds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pycardano import Address, TransactionInput, TransactionOutput

from runner.devnet.ledger.json_codec import datum_cbor
from runner.devnet.servers import tip_view
from runner.devnet.servers.ogmios import shapes

Json = dict[str, Any]
GENESIS_HEADER_HASH = shapes.blake2b_256(b"milestones-devnet-genesis")
_ASSET = re.compile(r"^([0-9a-f]{56})\.(\*|[0-9a-f]{2,64})$")
_OUTPUT_REF = re.compile(r"^(\*|[0-9]+)@([0-9a-f]{64})$")
_CREDENTIAL = re.compile(r"^(\*|[0-9a-f]{56}|[0-9a-f]{64})$")
_HEX = re.compile(r"^(?:[0-9a-f]{2})+$")
_PATTERN_HELP = ("use *, an address (bech32 or hex), a stake address, {credential}/{credential} "
                 "(56/64 hex, addr_vk/addr_vkh/stake_vk/script bech32, or *), "
                 "{policy_id}.{asset_name|*} or {output_index|*}@{transaction_id}")


class PatternError(ValueError):
    """A Kupo pattern or filter this server cannot read (HTTP 400 with a hint)."""


@dataclass(frozen=True)
class Point:
    slot: int
    header_hash: str

    def to_json(self) -> Json:
        return {"slot_no": self.slot, "header_hash": self.header_hash}


#: Where outputs that no block produced were "created" when the chain has no blocks at
#: all; otherwise it is the ledger's genesis block (its first block, height 0).
GENESIS = Point(0, GENESIS_HEADER_HASH)


@dataclass(frozen=True)
class Spent:
    point: Point
    transaction_id: str | None
    input_index: int | None
    redeemer: bytes | None


@dataclass
class Match:
    ref: TransactionInput
    output: TransactionOutput
    created: Point
    transaction_index: int
    spent: Spent | None = None

    @property
    def sort_key(self) -> tuple[int, int, bytes, int]:
        return (self.created.slot, self.transaction_index, self.ref.transaction_id.payload,
                int(self.ref.index))

    def to_json(self, index: KupoIndex, resolve: bool) -> Json:
        digest, inline = shapes.output_datum(self.output)
        script = self.output.script
        out: Json = {
            "transaction_index": self.transaction_index,
            "transaction_id": self.ref.transaction_id.payload.hex(),
            "output_index": int(self.ref.index),
            "address": shapes.address_text(self.output.address),
            "value": shapes.kupo_value(self.output.amount),
            "datum_hash": digest,
            "script_hash": shapes.script_hash_hex(script) if script is not None else None,
            "created_at": self.created.to_json(),
            "spent_at": None if self.spent is None else {
                **self.spent.point.to_json(), "transaction_id": self.spent.transaction_id,
                "input_index": self.spent.input_index,
                "redeemer": None if self.spent.redeemer is None else self.spent.redeemer.hex()},
        }
        if digest is not None:
            out["datum_type"] = "inline" if inline is not None else "hash"
        if resolve:
            datum = inline if inline is not None else (index.datum(digest) if digest else None)
            out["datum"] = None if datum is None else datum.hex()
            found = index.script(out["script_hash"]) if script is not None else None
            out["script"] = None if found is None else {"language": found[0], "script": found[1].hex()}
        return out


@dataclass
class KupoIndex:
    """An immutable-by-convention snapshot answered without the ledger lock (except lookups)."""

    matches: list[Match]
    checkpoint_slot: int
    points: list[Point]
    lookup_datum: Callable[[str], bytes | None] = field(default=lambda h: None)
    lookup_script: Callable[[str], tuple[str, bytes] | None] = field(default=lambda h: None)
    #: (slot, transaction id or None) -> (metadata of the block at that slot, its header hash)
    lookup_metadata: Callable[[int, str | None], tuple[list[Json], str | None]] = field(
        default=lambda slot, tx_id: ([], None))

    def datum(self, digest: str) -> bytes | None:
        for match in self.matches:
            found, inline = shapes.output_datum(match.output)
            if found == digest and inline is not None:
                return inline
        return self.lookup_datum(digest)

    def script(self, digest: str) -> tuple[str, bytes] | None:
        for match in self.matches:
            script = match.output.script
            if script is not None and shapes.script_hash_hex(script) == digest:
                return shapes.script_language(script), shapes.script_bytes(script)
        return self.lookup_script(digest)

    def checkpoints(self) -> list[Json]:
        """Most recent first; the newest 100 points, then every 2^k-th older one (a sample)."""
        newest = list(reversed(self.points))
        sample = newest[:100] + [newest[i] for i in _powers_of_two(100, len(newest))]
        return [p.to_json() for p in sample]

    def checkpoint_at(self, slot: int, *, strict: bool) -> Json | None:
        before = [p for p in self.points if p.slot <= slot]
        if not before or (strict and before[-1].slot != slot):
            return None
        return before[-1].to_json()

    def select(self, pattern: str, filters: dict[str, str]) -> list[Match]:
        keep = matcher(pattern)
        chosen = [m for m in self.matches if keep(m) and _passes(m, filters)]
        order = filters.get("order", "most_recent_first")
        if order not in ("most_recent_first", "oldest_first"):
            raise PatternError("order is most_recent_first or oldest_first")
        return sorted(chosen, key=lambda m: m.sort_key, reverse=order == "most_recent_first")


def _powers_of_two(start: int, end: int) -> Iterable[int]:
    step = 2
    i = start + step
    while i < end:
        yield i
        step *= 2
        i += step


def _int_filter(filters: dict[str, str], key: str) -> int | None:
    if key not in filters:
        return None
    if not filters[key].isdigit() or len(filters[key]) > 20:
        raise PatternError(f"{key} must be a non-negative integer (a slot number or index, at most 20 digits)")
    return int(filters[key])


def _passes(match: Match, filters: dict[str, str]) -> bool:
    if "spent" in filters and match.spent is None:
        return False
    if "unspent" in filters and match.spent is not None:
        return False
    policy, name = filters.get("policy_id"), filters.get("asset_name")
    if name is not None and policy is None:
        raise PatternError("asset_name needs policy_id")
    if policy is not None and not _holds(match.output, policy, name):
        return False
    tx_id = filters.get("transaction_id")
    index = _int_filter(filters, "output_index")
    if index is not None and tx_id is None:
        raise PatternError("output_index needs transaction_id")
    if tx_id is not None and match.ref.transaction_id.payload.hex() != tx_id:
        return False
    if index is not None and int(match.ref.index) != index:
        return False
    return _in_slot_range(match, filters)


def _in_slot_range(match: Match, filters: dict[str, str]) -> bool:
    after, before = _int_filter(filters, "created_after"), _int_filter(filters, "created_before")
    if after is not None and match.created.slot < after:
        return False
    if before is not None and match.created.slot > before:
        return False
    s_after, s_before = _int_filter(filters, "spent_after"), _int_filter(filters, "spent_before")
    if s_after is not None or s_before is not None:
        if match.spent is None:
            return False
        if s_after is not None and match.spent.point.slot < s_after:
            return False
        if s_before is not None and match.spent.point.slot > s_before:
            return False
    return True


def _holds(output: TransactionOutput, policy: str, name: str | None) -> bool:
    amount = output.amount
    multi = getattr(amount, "multi_asset", None) or {}
    for pid, assets in multi.items():
        if pid.payload.hex() == policy:
            return name is None or any(n.payload.hex() == name for n in assets)
    return False


#: bech32 prefixes Kupo accepts for a credential, and whether they carry a key (hashed first).
_CREDENTIAL_PREFIXES = {"addr_vk": True, "stake_vk": True, "addr_vkh": False, "stake_vkh": False,
                        "addr_shared_vk": True, "script": False}


def _credential_hash(spec: str) -> str | None:
    """The 28-byte credential hash (hex) of a credential spec: hex key/hash or bech32."""
    if _CREDENTIAL.match(spec):
        return spec if len(spec) == 56 else shapes.blake2b_224(bytes.fromhex(spec))
    from pycardano.crypto.bech32 import bech32_decode, convertbits

    hrp, data, _ = bech32_decode(spec)
    if hrp not in _CREDENTIAL_PREFIXES or data is None:
        return None
    raw = bytes(convertbits(data, 5, 8, False) or [])
    if _CREDENTIAL_PREFIXES[hrp]:
        return shapes.blake2b_224(raw) if len(raw) == 32 else None
    return raw.hex() if len(raw) == 28 else None


def _credential_matches(wanted: str | None, part: Any) -> bool:
    if wanted is None:  # the wildcard
        return True
    return part is not None and hasattr(part, "payload") and bytes(part.payload).hex() == wanted


def matcher(pattern: str) -> Callable[[Match], bool]:
    """A predicate for one Kupo pattern (see Kupo's 'Patterns' documentation)."""
    if pattern in ("*", "*/*"):
        return lambda m: True
    if (ref := _OUTPUT_REF.match(pattern)) is not None:
        idx, tx = ref.groups()
        return lambda m: (m.ref.transaction_id.payload.hex() == tx
                          and (idx == "*" or int(m.ref.index) == int(idx)))
    if (asset := _ASSET.match(pattern)) is not None:
        policy, name = asset.groups()
        return lambda m: _holds(m.output, policy, None if name == "*" else name)
    if "/" in pattern:
        left, _, right = pattern.partition("/")
        payment = None if left == "*" else _credential_hash(left)
        staking = None if right == "*" else _credential_hash(right)
        if (left != "*" and payment is None) or (right != "*" and staking is None):
            raise PatternError(f"unreadable credentials pattern {pattern!r}: {_PATTERN_HELP}")
        return lambda m: (_credential_matches(payment, m.output.address.payment_part)
                          and _credential_matches(staking, m.output.address.staking_part))
    return _address_matcher(pattern)


def _address_matcher(pattern: str) -> Callable[[Match], bool]:
    try:
        if _HEX.match(pattern):
            address = Address.from_primitive(bytes.fromhex(pattern))
        else:
            address = Address.from_primitive(pattern)
    except Exception as exc:  # pycardano raises several kinds on a bad address
        raise PatternError(f"unreadable pattern {pattern[:120]!r}: {_PATTERN_HELP}") from exc
    if address.payment_part is None:  # a stake address: every output delegating to it
        return lambda m: m.output.address.staking_part == address.staking_part
    wanted = shapes.address_bytes(address)
    return lambda m: shapes.address_bytes(m.output.address) == wanted


# --- building from the ledger -----------------------------------------------------------

def _spend_details(applied: Any) -> tuple[dict[Any, int], dict[int, bytes]]:
    """(input -> index among the sorted inputs, spend redeemer index -> redeemer CBOR)."""
    from pycardano import RedeemerMap, RedeemerTag, Transaction

    try:
        tx = Transaction.from_cbor(applied.cbor)
    except Exception:  # noqa: BLE001 - accepted by the ledger: a decoder gap, so no details
        return {}, {}
    inputs = sorted(tx.transaction_body.inputs, key=lambda r: (r.transaction_id.payload, int(r.index)))
    positions = {ref: i for i, ref in enumerate(inputs)}
    redeemers: dict[int, bytes] = {}
    raw = tx.transaction_witness_set.redeemer
    if isinstance(raw, RedeemerMap):
        items = [(k.tag, k.index, v.data) for k, v in raw.items()]
    else:
        items = [(r.tag, r.index, r.data) for r in (raw or [])]
    for tag, index, data in items:
        if tag == RedeemerTag.SPEND:
            redeemers[int(index)] = datum_cbor(data)
    return positions, redeemers


class ChainHistory:
    """What the blocks say about outputs (created where, spent where), followed block by block.

    Block hashes chain their predecessors, so if the last block seen is still at its
    height, every earlier one is too and only newer blocks need reading; otherwise (a
    rollback) the history starts over.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.created: dict[Any, tuple[Point, int]] = {}
        self.outputs: dict[Any, TransactionOutput] = {}
        self.spent: dict[Any, Spent] = {}
        self.points: list[Point] = []

    @property
    def origin(self) -> Point:
        """Where genesis outputs (and a UTxO file's) were created: the first block seen."""
        return self.points[0] if self.points else GENESIS

    def follow(self, blocks: list[Any]) -> None:
        seen = len(self.points)
        if seen and (seen > len(blocks) or blocks[seen - 1].block_hash != self.points[-1].header_hash):
            self._reset()
            seen = 0
        for block in blocks[seen:]:
            self._add(block)

    def _add(self, block: Any) -> None:
        point = Point(int(block.slot), str(block.block_hash))
        self.points.append(point)
        for tx_index, applied in enumerate(block.txs):
            positions, redeemers = _spend_details(applied) if applied.undo.consumed else ({}, {})
            for ref, output in applied.undo.consumed:
                self.outputs.setdefault(ref, output)
                self.created.setdefault(ref, (self.origin, 0))
                position = positions.get(ref)
                self.spent[ref] = Spent(point, applied.tx_id, position,
                                        redeemers.get(position) if position is not None else None)
            for ref in applied.undo.produced:
                self.created[ref] = (point, tx_index)

    def snapshot(self, ledger: Any, lookup_datum: Callable[[str], bytes | None] | None = None,
                 lookup_script: Callable[[str], tuple[str, bytes] | None] | None = None) -> KupoIndex:
        """The index as of the ledger's tip (called under the ledger lock)."""
        self.follow(list(getattr(ledger, "blocks", ())))
        utxo = tip_view.utxo_at_tip(ledger)  # blocks only: pending transactions are not indexed
        outputs = dict(self.outputs)
        outputs.update(utxo)
        matches = [Match(ref, output, *self.created.get(ref, (self.origin, 0)),
                         None if ref in utxo else self.spent.get(ref))
                   for ref, output in outputs.items()]
        return KupoIndex(matches, int(ledger.tip.slot), list(self.points),
                         lookup_datum or (lambda h: None), lookup_script or (lambda h: None))


def build(ledger: Any, lookup_datum: Callable[[str], bytes | None] | None = None,
          lookup_script: Callable[[str], tuple[str, bytes] | None] | None = None) -> KupoIndex:
    """The whole index from scratch (the servers keep a :class:`ChainHistory` instead)."""
    return ChainHistory().snapshot(ledger, lookup_datum, lookup_script)


__all__ = ["ChainHistory", "KupoIndex", "Match", "PatternError", "build", "matcher"]
