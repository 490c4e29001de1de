"""Append-only journal of ledger changes next to the snapshot, so a save costs what changed.

Saving the whole state after every submission grows with the chain (about 200 ms per
submit at 5,000 blocks). Instead ``ledger.cbor`` holds a snapshot and ``ledger.log`` the
changes since: one length-prefixed CBOR record per save (UTxO entries added and removed,
blocks dropped and added, mempool, stake accounts, clock, new datums and scripts),
appended and fsynced. When the journal outgrows the snapshot, a new snapshot is written.

Crash safety: the snapshot carries a random ``generation`` and the journal starts with the
same generation; a journal of another generation (left by a crash between writing a new
snapshot and starting its journal) is ignored. A torn last record (a crash mid-append) is
ignored too, and the next save writes a fresh snapshot instead of appending after it.
Either way the state read back is one the ledger really had.
"""

from __future__ import annotations

import itertools
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cbor2
from pycardano import TransactionInput

from runner.store.atomic import write_bytes_atomic

if TYPE_CHECKING:
    from runner.chain.devnet.ledger import Ledger

JOURNAL_FILE = "ledger.log"
#: a snapshot is rewritten once the journal is larger than this and than
#: COMPACTION_RATIO x the snapshot: replay on load stays bounded by the snapshot's size,
#: and the snapshot's cost is spread over as many saves as its size in records
MIN_COMPACTION_BYTES = 256 * 1024
COMPACTION_RATIO = 1.0
_LENGTH = struct.Struct(">I")


@dataclass
class JournalState:
    """What the files in one data directory already hold, for one ledger object."""

    directory: Path
    generation: bytes
    snapshot_bytes: int
    journal_bytes: int
    utxo: Any  # the UtxoSet object the files describe (a reset replaces it)
    index: Any  # the ChainIndex object (likewise)
    block_hashes: list[str] = field(default_factory=list)
    datums_saved: int = 0
    scripts_saved: int = 0
    healthy: bool = True

    def matches(self, ledger: Ledger, directory: Path) -> bool:
        return (self.healthy and directory == self.directory and ledger._utxo is self.utxo
                and ledger.index is self.index and ledger._utxo.dirty is not None)

    def wants_snapshot(self) -> bool:
        return self.journal_bytes > max(MIN_COMPACTION_BYTES, COMPACTION_RATIO * self.snapshot_bytes)


def frame(record: Any) -> bytes:
    body = cbor2.dumps(record)
    return _LENGTH.pack(len(body)) + body


def start(ledger: Ledger, directory: Path, generation: bytes, snapshot_bytes: int) -> JournalState:
    """A new journal (header only) for the snapshot just written; tracking starts now."""
    header = frame({"generation": generation})
    write_bytes_atomic(directory / JOURNAL_FILE, header)
    ledger._utxo.dirty = {}
    return JournalState(directory, generation, snapshot_bytes, len(header), ledger._utxo, ledger.index,
                        [b.block_hash for b in ledger._blocks], len(ledger.index.datums),
                        len(ledger.index.scripts))


def record(ledger: Ledger, state: JournalState, tx_dump: Any, ref_bytes: Any) -> dict[str, Any]:
    """The changes since the last save, and the bookkeeping moved past them."""
    utxo = ledger._utxo
    added, removed = [], []
    for ref in utxo.dirty or ():
        if ref in utxo:
            added.append([ref_bytes(ref), utxo.raw(ref)])
        else:
            removed.append(ref_bytes(ref))
    utxo.dirty = {}
    keep = min(len(state.block_hashes), len(ledger._blocks))
    while keep and ledger._blocks[keep - 1].block_hash != state.block_hashes[keep - 1]:
        keep -= 1
    new_blocks = ledger._blocks[keep:]
    del state.block_hashes[keep:]
    state.block_hashes.extend(b.block_hash for b in new_blocks)
    datums = dict(itertools.islice(ledger.index.datums.items(), state.datums_saved, None))
    scripts = {k: [lang, raw] for k, (lang, raw)
               in itertools.islice(ledger.index.scripts.items(), state.scripts_saved, None)}
    state.datums_saved, state.scripts_saved = len(ledger.index.datums), len(ledger.index.scripts)
    return {
        "utxo_add": added, "utxo_del": removed, "keep_blocks": keep,
        "blocks": [[b.slot, b.block_hash, b.height, [tx_dump(t) for t in b.txs]] for b in new_blocks],
        "mempool": [tx_dump(t) for t in ledger._mempool],
        "stake": {k: v.to_list() for k, v in ledger._stake.items()},
        "current_slot": ledger._current_slot, "datums": datums, "scripts": scripts,
    }


def append(state: JournalState, entry: dict[str, Any]) -> None:
    data = frame(entry)
    with open(state.directory / JOURNAL_FILE, "ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    state.journal_bytes += len(data)


def read(directory: Path, generation: bytes) -> tuple[list[dict[str, Any]], int, bool]:
    """(records of this generation, bytes read, complete?) — complete is False after a torn tail."""
    try:
        data = (directory / JOURNAL_FILE).read_bytes()
    except FileNotFoundError:
        return [], 0, False
    records: list[dict[str, Any]] = []
    offset = 0
    while offset < len(data):
        if offset + _LENGTH.size > len(data):
            return records, offset, False
        (size,) = _LENGTH.unpack_from(data, offset)
        end = offset + _LENGTH.size + size
        if end > len(data):
            return records, offset, False
        try:
            item = cbor2.loads(data[offset + _LENGTH.size:end])
        except (ValueError, cbor2.CBORDecodeError):
            return records, offset, False
        if offset == 0:
            if not isinstance(item, dict) or item.get("generation") != generation:
                return [], 0, False  # a journal of another snapshot: not ours
        else:
            records.append(item)
        offset = end
    return records, offset, offset > 0


def replay(ledger: Ledger, records: list[dict[str, Any]], unpair: Any, tx_load: Any, account: Any) -> None:
    """Apply journal records to a ledger restored from the snapshot, in order."""
    from runner.chain.devnet.ledger_types import Block

    for entry in records:
        for raw_ref in entry["utxo_del"]:
            ref = TransactionInput.from_cbor(raw_ref)
            if ref in ledger._utxo:
                ledger._utxo.pop(ref)
        for pair in entry["utxo_add"]:
            ref, out = unpair(pair)
            ledger._utxo.add(ref, out, pair[1])
        del ledger._blocks[entry["keep_blocks"]:]
        for b in entry["blocks"]:
            ledger._blocks.append(Block(b[0], b[1], b[2], [tx_load(t) for t in b[3]]))
        ledger._mempool = [tx_load(t) for t in entry["mempool"]]
        ledger._stake = {k: account(v) for k, v in entry["stake"].items()}
        ledger._current_slot = entry["current_slot"]
        ledger.index.datums.update(entry["datums"])
        ledger.index.scripts.update({k: (v[0], v[1]) for k, v in entry["scripts"].items()})
