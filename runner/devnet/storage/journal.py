"""Append-only journal of ledger changes next to the snapshot, so a save costs what changed.

Saving the whole state after every submission grows with the chain (about 200 ms per
submit at 5,000 blocks). Instead ``ledger.cbor`` holds a snapshot and ``ledger.log`` the
changes since: one framed CBOR record per save (UTxO entries added and removed, blocks
dropped and added, mempool, stake accounts, clock, new datums and scripts), written and
fsynced before the change is acknowledged. When the journal outgrows the snapshot, a new
snapshot is written.

Framing: ``MAGIC | length (u32) | crc32 of the body (u32) | CBOR body``. Each record is
checked on read, so damage is found, never replayed, and never mistaken for the end.

Crash safety: the snapshot carries a random ``generation`` and the journal starts with a
header record of the same generation; a journal of another generation (left by a crash
between writing a new snapshot and starting its journal) is ignored. A torn last record (a
crash mid-append) is ignored and reported, and the next save writes a fresh snapshot. A
bad record followed by good ones is damage, not a crash: :class:`JournalDamaged`.
Records are written at the journal's known end, so a failed write (disk full) can never
leave garbage between two good records.
"""

from __future__ import annotations

import itertools
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cbor2
from pycardano import TransactionInput

from runner.store.atomic import write_bytes_atomic

if TYPE_CHECKING:
    from runner.devnet.ledger.ledger import Ledger

JOURNAL_FILE = "ledger.log"
#: a snapshot is rewritten once the journal is larger than this and than
#: COMPACTION_RATIO x the snapshot: replay on load stays bounded by the snapshot's size,
#: and the snapshot's cost is spread over as many saves as its size in records
MIN_COMPACTION_BYTES = 256 * 1024
COMPACTION_RATIO = 1.0
MAGIC = b"MLJ\x02"
_HEAD = struct.Struct(">4sII")
_LEGACY_LENGTH = struct.Struct(">I")


class JournalDamaged(Exception):
    """The journal cannot be replayed past ``good`` records (``detail`` says why and where)."""

    def __init__(self, detail: str, good: list[dict[str, Any]], later: int | None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.good = good
        self.later = later  # intact records found after the damage (lost with it); None: unknown


@dataclass
class JournalRead:
    records: list[dict[str, Any]]
    size: int  # bytes of whole records (the header included)
    complete: bool  # ours, and nothing after the last whole record
    note: str | None = None  # what was ignored, for the user


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
    return _HEAD.pack(MAGIC, len(body), zlib.crc32(body)) + body


def header(generation: bytes) -> bytes:
    return frame({"generation": generation})


#: the size of a journal that holds only its header (no change saved yet)
EMPTY_JOURNAL_BYTES = len(header(bytes(16)))


def start(ledger: Ledger, directory: Path, generation: bytes, snapshot_bytes: int) -> JournalState:
    """A new journal (header only) for the snapshot just written; tracking starts now."""
    first = header(generation)
    write_bytes_atomic(directory / JOURNAL_FILE, first)
    ledger._utxo.dirty = {}
    return JournalState(directory, generation, snapshot_bytes, len(first), ledger._utxo, ledger.index,
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
    """Write one record at the journal's end and fsync it; on failure the journal is cut back
    to its last whole record (best effort) and no longer appended to (the next save writes a
    new snapshot), and the OSError propagates: the change is not durable."""
    data = frame(entry)
    fd = os.open(state.directory / JOURNAL_FILE, os.O_WRONLY)
    try:
        _write_at(fd, data, state.journal_bytes)
        _sync(fd)
    except OSError:
        state.healthy = False
        try:
            os.ftruncate(fd, state.journal_bytes)
            _sync(fd)
        except OSError:
            pass  # whatever is left past the last whole record reads as a torn tail
        raise
    finally:
        os.close(fd)
    state.journal_bytes += len(data)


def _write_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _sync(fd: int) -> None:
    os.fsync(fd)


def read(directory: Path, generation: bytes) -> JournalRead:
    """The records of this generation. Raises OSError if the file cannot be read (missing,
    a directory), JournalDamaged if a record other than the last is bad."""
    data = (directory / JOURNAL_FILE).read_bytes()
    if not data:
        raise JournalDamaged("ledger.log is empty (even its header is gone)", [], None)
    if not data.startswith(MAGIC):
        return _read_legacy(data, generation)
    records: list[dict[str, Any]] = []
    offset = 0
    while offset < len(data):
        item, end = _record_at(data, offset)
        if item is None:
            return _bad_record(data, offset, records)
        if offset == 0:
            if not isinstance(item, dict) or not isinstance(item.get("generation"), bytes):
                raise JournalDamaged("ledger.log's header record is not a journal header", [], None)
            if item["generation"] != generation:
                return JournalRead([], 0, False, "ledger.log belongs to an earlier snapshot (a crash "
                                   "while a new snapshot was written) and was ignored: nothing is lost")
        elif isinstance(item, dict):
            records.append(item)
        else:
            raise JournalDamaged(f"record {len(records) + 1} at byte {offset} is not a change record",
                                 records, _count_from(data, end))
        offset = end
    return JournalRead(records, offset, True)


def _record_at(data: bytes, offset: int) -> tuple[Any, int]:
    """(decoded record, end offset) or (None, offset) if no whole, intact record starts here."""
    if offset + _HEAD.size > len(data):
        return None, offset
    magic, size, crc = _HEAD.unpack_from(data, offset)
    end = offset + _HEAD.size + size
    if magic != MAGIC or end > len(data):
        return None, offset
    body = data[offset + _HEAD.size:end]
    if zlib.crc32(body) != crc:
        return None, offset
    try:
        return cbor2.loads(body), end
    except (ValueError, cbor2.CBORDecodeError):
        return None, offset


def _count_from(data: bytes, offset: int) -> int:
    """How many intact records can be found from ``offset`` on (resynchronising on MAGIC)."""
    count, position = 0, data.find(MAGIC, offset)
    while position != -1:
        item, end = _record_at(data, position)
        if item is not None:
            count, position = count + 1, data.find(MAGIC, end)
        else:
            position = data.find(MAGIC, position + 1)
    return count


def _bad_record(data: bytes, offset: int, records: list[dict[str, Any]]) -> JournalRead:
    if offset == 0:
        raise JournalDamaged("ledger.log's header record is damaged", [], None)
    later = _count_from(data, offset + 1)
    if later:
        raise JournalDamaged(f"record {len(records) + 1} (at byte {offset} of {len(data)}) is damaged",
                             records, later)
    return JournalRead(records, offset, False,
                       f"ledger.log ended in a torn record ({len(data) - offset} bytes at byte {offset}, "
                       "left by a crash or a failed write): the change it held was never acknowledged "
                       f"and is dropped; {len(records)} change(s) replayed")


def _read_legacy(data: bytes, generation: bytes) -> JournalRead:
    """A journal written before records were checksummed: replay its whole records, then start
    a new snapshot (it is never appended to)."""
    records: list[dict[str, Any]] = []
    offset = 0
    while offset + _LEGACY_LENGTH.size <= len(data):
        (size,) = _LEGACY_LENGTH.unpack_from(data, offset)
        end = offset + _LEGACY_LENGTH.size + size
        try:
            item = cbor2.loads(data[offset + _LEGACY_LENGTH.size:end]) if end <= len(data) else None
        except (ValueError, cbor2.CBORDecodeError):
            item = None
        if offset == 0 and not (isinstance(item, dict) and item.get("generation") == generation):
            raise JournalDamaged("ledger.log does not start with a journal header", [], None)
        if not isinstance(item, dict):
            break
        if offset:
            records.append(item)
        offset = end
    return JournalRead(records, offset, False, None if offset == len(data) else
                       f"ledger.log (old format) ended in {len(data) - offset} unreadable bytes, ignored")


def replay(ledger: Ledger, records: list[dict[str, Any]], unpair: Any, tx_load: Any, account: Any) -> None:
    """Apply journal records to a ledger restored from the snapshot, in order."""
    from runner.devnet.ledger.types import Block

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
