"""The in-flight journal: one file per transaction, written BEFORE it is submitted.

DESIGN.md §5.2: the entry records the step, the transaction id, the signed CBOR, the
inputs it spends and its deadline (the validity upper bound, a slot), written to a temp
file, fsync'd and renamed.  After a crash the engine resolves each open entry against
the chain (Engine.recover in runner/engine/run.py) before building anything new.  Signing keys are
never in an entry: only the signed transaction, which is public once submitted anyway.

Status: ``journaled`` -> ``submitted`` -> ``confirmed`` | ``dead``.  Finished entries are
kept (they are the local history) until :meth:`Journal.prune`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from runner.errors import StateError
from runner.store.atomic import write_json_atomic

OPEN = ("journaled", "submitted")


@dataclass(frozen=True)
class JournalEntry:
    step: str  # the step's id, e.g. "release:addr_test1...:milestone-001"
    tx_id: str
    cbor_hex: str
    inputs: tuple[str, ...]  # "txid#index"
    deadline_slot: int | None
    status: str = "journaled"
    created: float = 0.0
    sequence: int = 0  # order within a step (chained register transactions)
    note: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["inputs"] = list(self.inputs)
        return out

    @classmethod
    def from_json(cls, raw: Any, where: str) -> JournalEntry:
        try:
            return cls(step=str(raw["step"]), tx_id=str(raw["tx_id"]), cbor_hex=str(raw["cbor_hex"]),
                       inputs=tuple(str(i) for i in raw["inputs"]), deadline_slot=raw.get("deadline_slot"),
                       status=str(raw.get("status", "journaled")), created=float(raw.get("created", 0)),
                       sequence=int(raw.get("sequence", 0)), note=str(raw.get("note", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"unreadable journal entry ({exc})", location=where,
                             hint="the journal is written atomically: inspect or move this file away") from exc


class Journal:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _file(self, tx_id: str) -> Path:
        return self.folder / f"{tx_id}.json"

    def record(self, entry: JournalEntry) -> JournalEntry:
        """Durably write ``entry`` (fsync'd) and return it as stored."""
        stored = entry if entry.created else replace(entry, created=time.time())
        write_json_atomic(self._file(stored.tx_id), stored.to_json())
        return stored

    def mark(self, entry: JournalEntry, status: str, note: str = "") -> JournalEntry:
        return self.record(replace(entry, status=status, note=note or entry.note))

    def entries(self) -> list[JournalEntry]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                raw = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise StateError(f"unreadable journal file ({exc})", location=str(path),
                                 hint="journal files are written atomically; move this one away") from exc
            found.append(JournalEntry.from_json(raw, str(path)))
        return sorted(found, key=lambda e: (e.created, e.sequence))

    def set_aside(self, entry: JournalEntry) -> Path:
        """Move ``entry``'s file to ``quarantine/`` (it is never read again); returns where."""
        folder = self.folder.parent / "quarantine"
        folder.mkdir(parents=True, exist_ok=True)
        aside = folder / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-journal_{entry.tx_id}.json"
        os.replace(self._file(entry.tx_id), aside)
        return aside

    def open_entries(self, steps: Sequence[str] | None = None) -> list[JournalEntry]:
        return [e for e in self.entries() if e.is_open and (steps is None or e.step in steps)]

    def prune(self) -> int:
        """Delete finished entries; returns how many."""
        gone = 0
        for entry in self.entries():
            if not entry.is_open:
                self._file(entry.tx_id).unlink(missing_ok=True)
                gone += 1
        return gone


def bytes_problem(entry: JournalEntry) -> str | None:
    """Why ``entry.cbor_hex`` is not the transaction ``entry.tx_id`` spending ``entry.inputs``
    (None when it is): recovery resubmits these bytes, so they are checked, never trusted."""
    import hashlib

    import cbor2

    from runner.devnet.ledger import container_items, map_entries

    try:
        body = container_items(bytes.fromhex(entry.cbor_hex))[0]
        body_id = hashlib.blake2b(body, digest_size=32).hexdigest()
        refs = sorted(f"{bytes(i[0]).hex()}#{int(i[1])}"
                      for i in (cbor2.loads(item) for item in container_items(map_entries(body)[0])))
    except (ValueError, IndexError, KeyError, TypeError, cbor2.CBORDecodeError) as exc:
        return f"cbor_hex is not a signed transaction ({exc})"
    if body_id != entry.tx_id:
        return f"cbor_hex is transaction {body_id}, not {entry.tx_id}"
    if refs != sorted(entry.inputs):
        return f"its inputs are {refs}, the entry records {sorted(entry.inputs)}"
    return None
