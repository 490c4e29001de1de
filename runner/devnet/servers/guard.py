"""The devnet ledger behind one lock, shared by the Ogmios and Kupo servers and the wall clock.

Every server thread reads and writes the ledger through :class:`LedgerGuard`. Writes run
the ``before_write`` hooks first (the wall clock moves the ledger to real time) and tell
the ``listeners`` afterwards (chain followers waiting at the tip wake up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class LedgerGuard:
    """The ledger plus the one lock every server thread takes before touching it.

    Both ``read`` and ``write`` serialise access, because even a query walks dictionaries
    that a concurrent submission would mutate (the ledger persists itself after each change
    when it has a data directory). ``write`` also runs the hooks and tells the listeners.
    """

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger
        self.lock = threading.RLock()
        self.started_at = time.time()
        #: called (outside the lock) after every write: chain followers waiting at the tip
        self.listeners: list[Callable[[], None]] = []
        #: called with the ledger (inside the lock) before every write: the wall clock
        self.before_write: list[Callable[[Any], None]] = []
        #: the ``wallclock.WallClock`` keeping this ledger on real time, if any
        self.wall_clock: Any = None

    def read(self, fn: Callable[[Any], T]) -> T:
        with self.lock:
            return fn(self.ledger)

    def write(self, fn: Callable[[Any], T]) -> T:
        try:
            with self.lock:
                for hook in list(self.before_write):
                    hook(self.ledger)
                return fn(self.ledger)
        finally:
            self.changed()

    def changed(self) -> None:
        """Tell the listeners the ledger may have changed (writes do; so may a test that
        changes the ledger under ``lock`` directly)."""
        for listener in list(self.listeners):
            listener()


__all__ = ["LedgerGuard"]
