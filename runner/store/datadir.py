"""The data directory: ``milestones/``, ``cache/``, ``journal/``, ``quarantine/``, the lock.

It is a cache plus the in-flight record, never the source of truth (DESIGN.md §5.8).
Every file under ``milestones/`` and ``cache/`` is written atomically together with its
SHA-256 in ``checksums.json``; a read checks it.  A file whose checksum does not match
(or that the manifest lists but is gone) is never trusted: :meth:`DataDir.read_json`
moves it to ``quarantine/`` and records a :class:`Repair`, and the caller rebuilds it
from the chain and reports what was repaired.

Layout::

    <data-dir>/
      milestones/<milestone-id>.json   certificates committed (the quick-start's files)
      cache/contract_<address>.json    what discovery found (schedule parameters, txs)
      journal/<tx-id>.json             transactions in flight (see runner/store/journal.py)
      quarantine/<time>-<name>         corrupt files set aside
      checksums.json                   sha256 of every file in milestones/ and cache/
      lock.json                        the one-writer lock (runner/store/lock.py)
      devnet/                          the embedded devnet's ledger (network devnet)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runner.store.atomic import write_json_atomic, write_text_atomic

MANIFEST = "checksums.json"
CHECKED_FOLDERS = ("milestones", "cache")
#: the only keys of checksums.json ever read: a damaged or planted manifest must not name
#: files outside the two folders (``../owner.skey``, an absolute path) nor a folder.  A
#: milestone id is any text of 1-32 bytes ("Phase 1"), so the name is one path component,
#: not only [A-Za-z0-9._-]: narrower, such a milestone's file would be quarantined at every read.
CHECKED_KEY = re.compile(r"(milestones|cache)/[^/\\\x00]+\.json")


@dataclass(frozen=True)
class Repair:
    """A file that could not be trusted: ``what`` happened, where it was set aside."""

    path: str
    what: str  # "corrupt" | "missing"
    set_aside: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "problem": self.what, "set_aside": self.set_aside, "rebuilt_from": "chain"}


def milestone_file(milestone: str) -> str:
    """``milestones/<id>.json`` with the id percent-quoted where it is not a plain file name
    (a milestone id is any text of 1..32 bytes: ``a/b`` or ``..`` must never name a path)."""
    return f"milestones/{quote(milestone, safe=' -_.,()+=@')}.json"


@dataclass
class DataDir:
    root: Path
    repairs: list[Repair] = field(default_factory=list)
    #: test hook, called between a checked file and its checksum ("cache-write")
    on_write: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    @property
    def journal_dir(self) -> Path:
        return self.root / "journal"

    @property
    def devnet_dir(self) -> Path:
        return self.root / "devnet"

    def path(self, relative: str) -> Path:
        return self.root / relative

    # ----------------------------------------------------------- checksummed JSON

    def _manifest_raw(self) -> dict[str, Any]:
        """checksums.json as read ({} when missing, unreadable or not an object)."""
        try:
            value = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def _manifest(self) -> dict[str, str]:
        return {k: v for k, v in self._manifest_raw().items() if CHECKED_KEY.fullmatch(k)}

    def _foreign_keys(self) -> list[str]:
        """Keys of checksums.json that name no checked file (never read, dropped on repair)."""
        return sorted(str(k) for k in self._manifest_raw() if not CHECKED_KEY.fullmatch(k))

    def write_json(self, relative: str, value: Any) -> None:
        """Write a checked file, then its checksum (a crash between the two leaves a
        mismatch, which the next read treats as corrupt and rebuilds)."""
        if relative.split("/")[0] not in CHECKED_FOLDERS or not CHECKED_KEY.fullmatch(relative):
            raise ValueError(f"{relative}: checked files are one file name in {CHECKED_FOLDERS}")
        text = json.dumps(value, indent=2, sort_keys=True) + "\n"
        write_text_atomic(self.root / relative, text)
        if self.on_write is not None:
            self.on_write("cache-write")
        manifest = self._manifest()
        manifest[relative] = hashlib.sha256(text.encode()).hexdigest()
        write_json_atomic(self.root / MANIFEST, manifest)

    def read_json(self, relative: str) -> Any | None:
        """The file's value, or None when absent or untrustworthy (then recorded in
        :attr:`repairs` and set aside)."""
        target = self.root / relative
        expected = self._manifest().get(relative)
        if not target.is_file():
            if expected is not None:
                self.repairs.append(Repair(relative, "missing"))
                self._forget(relative)
            return None
        raw = target.read_bytes()
        if expected is None or hashlib.sha256(raw).hexdigest() != expected:
            self.repairs.append(Repair(relative, "corrupt", self._set_aside(target, relative)))
            return None
        try:
            return json.loads(raw)
        except ValueError:
            self.repairs.append(Repair(relative, "corrupt", self._set_aside(target, relative)))
            return None

    def check_all(self) -> list[Repair]:
        """Verify every file in the checked folders and the manifest (``check-status``)."""
        foreign = self._foreign_keys()
        if foreign:
            self.repairs.extend(Repair(f"{MANIFEST}: {k}", "not a checked file") for k in foreign)
            write_json_atomic(self.root / MANIFEST, self._manifest())
        listed = set(self._manifest())
        present = {str(p.relative_to(self.root)) for folder in CHECKED_FOLDERS
                   for p in (self.root / folder).glob("*.json")}
        for relative in sorted(listed | present):
            self.read_json(relative)
        return list(self.repairs)

    def _set_aside(self, target: Path, relative: str) -> str:
        folder = self.root / "quarantine"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = folder / f"{stamp}-{relative.replace('/', '_')}"
        n = 0
        while aside.exists():
            n += 1
            aside = folder / f"{stamp}-{n}-{relative.replace('/', '_')}"
        os.replace(target, aside)
        self._forget(relative)
        return str(aside.relative_to(self.root))

    def _forget(self, relative: str) -> None:
        manifest = self._manifest()
        if relative in manifest:
            del manifest[relative]
            write_json_atomic(self.root / MANIFEST, manifest)
