"""The devnet's home: its files in a data directory (``<data dir>/devnet``).

Opening a home creates a fresh genesis there (saved after every change) or loads what is
saved; ``milestones devnet ...`` (:mod:`runner.devnet.cli`) and the engine's embedded
devnet open it the same way.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from runner.devnet.cli_options import GenesisOptions
from runner.devnet.ledger.ledger import BlockMode, Ledger
from runner.devnet.ledger.params import LedgerParams
from runner.devnet.storage.journal import EMPTY_JOURNAL_BYTES, JOURNAL_FILE
from runner.devnet.storage.lockfile import LOCK_NAME
from runner.devnet.storage.store import STATE_FILE, attach, load_ledger_reporting

__all__ = ["create_home", "discard_state", "has_state", "load_home", "open_home"]

Notes = Callable[[str], None]


def _to_stderr(note: str) -> None:
    print(f"note: {note}", file=sys.stderr)


def has_state(directory: Path) -> bool:
    """Anything but the lock, a temporary file, or the bare journal header a creation cut
    short (by a crash before its first snapshot) counts as a devnet not to overwrite."""

    def counts(path: Path) -> bool:
        if path.name == LOCK_NAME or path.name.endswith(".tmp"):
            return False
        return not (path.name == JOURNAL_FILE and path.is_file() and path.stat().st_size <= EMPTY_JOURNAL_BYTES)

    return directory.is_dir() and any(counts(p) for p in directory.iterdir())


def create_home(seed: str, params_file: Path | None, directory: Path,
                clock: GenesisOptions | None = None) -> Ledger:
    """A fresh genesis that saves itself to ``directory`` after every change."""
    clock = clock or GenesisOptions()
    params = LedgerParams.from_file(params_file) if params_file else LedgerParams.mainnet()
    directory.mkdir(parents=True, exist_ok=True)
    block_mode = cast(BlockMode, clock.block_mode)  # checked by clock.slot_config()
    if clock.utxo_file is not None:
        ledger = Ledger.from_utxo_file(clock.utxo_file, clock.start_slot, seed=seed, params=params,
                                       slot_config=clock.slot_config(), block_mode=block_mode)
    else:
        ledger = Ledger.create(seed=seed, params=params, slot_config=clock.slot_config(),
                               block_mode=block_mode, start_slot=clock.start_slot)
    attach(ledger, directory)
    return ledger


def open_home(directory: Path, seed: str, params_file: Path | None, clock: GenesisOptions | None = None,
              notes: Notes = _to_stderr) -> Ledger:
    """The devnet saved in ``directory``, or a new one there when it holds none."""
    if not has_state(directory):
        return create_home(seed, params_file, directory, clock)
    return load_home(directory, notes)


def load_home(directory: Path, notes: Notes = _to_stderr) -> Ledger:
    """The saved devnet, saving itself there after every change (loading attaches it); what
    loading ignored (a torn last record) goes to ``notes``."""
    ledger, said = load_ledger_reporting(Ledger, directory)
    for note in said:
        notes(note)
    return ledger


def discard_state(directory: Path) -> None:
    """Delete the devnet's files; a directory where a state file belongs is set aside."""
    for stale in directory.iterdir():
        if stale.name != LOCK_NAME and stale.is_file():
            stale.unlink()
        elif stale.name in (STATE_FILE, JOURNAL_FILE):
            stale.rename(stale.with_name(f"{stale.name}.set-aside-{os.getpid()}-{time.time_ns()}"))
