"""Persistence in a data directory: a checksummed snapshot plus an append-only journal
(``store``, ``journal``), kept in step by a listener on the ledger (:func:`attach`), and
the one-owner lock file (``lockfile``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.storage import lockfile
    from runner.devnet.storage.journal import JOURNAL_FILE
    from runner.devnet.storage.lockfile import LOCK_NAME
    from runner.devnet.storage.store import (
        STATE_FILE,
        Autosave,
        attach,
        home_of,
        load_ledger,
        load_ledger_reporting,
        repair_ledger,
        save_ledger,
    )

__all__ = [
    "JOURNAL_FILE",
    "LOCK_NAME",
    "STATE_FILE",
    "Autosave",
    "attach",
    "home_of",
    "load_ledger",
    "load_ledger_reporting",
    "lockfile",
    "repair_ledger",
    "save_ledger",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "attach": "runner.devnet.storage.store",
    "Autosave": "runner.devnet.storage.store",
    "home_of": "runner.devnet.storage.store",
    "JOURNAL_FILE": "runner.devnet.storage.journal",
    "load_ledger": "runner.devnet.storage.store",
    "load_ledger_reporting": "runner.devnet.storage.store",
    "LOCK_NAME": "runner.devnet.storage.lockfile",
    "lockfile": "runner.devnet.storage.lockfile",
    "repair_ledger": "runner.devnet.storage.store",
    "save_ledger": "runner.devnet.storage.store",
    "STATE_FILE": "runner.devnet.storage.store",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
