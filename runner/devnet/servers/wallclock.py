"""Wall-clock mode: the devnet's chain time follows real time, with blocks on a period.

Libraries that turn the wall clock into a slot ("valid from now") need a chain whose slot
is the current time's: by default the devnet's clock only moves on submissions or when told.
In wall-clock mode (``milestones devnet up --wall-clock``):

- before every change (a submission, a faucet payment, a tick) the ledger's clock is moved
  to the slot of the current time, so a transaction valid from "now" lands inside its
  validity interval;
- every ``block_period_s`` seconds a block forms (from the mempool, or empty), so the tip
  moves as on a real devnet;
- time travel still works: ``devnet advance`` moves the chain ahead of real time and the
  chain keeps that lead (an offset) from then on. The clock never goes back.

Reproducible rehearsals (tests, ``devnet demo``) do not use it: their slots depend only on
what they do. ``start_near_now`` gives the system start of a new devnet for third-party
tools: the current second, so slot numbers stay small.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from runner.errors import UserInputError

log = logging.getLogger(__name__)

#: Seconds between blocks in wall-clock mode unless told otherwise.
DEFAULT_BLOCK_PERIOD_S = 5.0


def now_ms() -> int:
    return int(time.time() * 1000)


def start_near_now(clock: Callable[[], int] = now_ms) -> int:
    """A whole-second POSIX time (ms) for slot 0 of a new devnet: now, rounded down."""
    return clock() // 1000 * 1000


class WallClock:
    """Keeps a served ledger's clock on real time (plus any time travel) and forms blocks."""

    def __init__(self, guard: Any, block_period_s: float = DEFAULT_BLOCK_PERIOD_S,
                 clock: Callable[[], int] = now_ms) -> None:
        if not block_period_s > 0:
            raise ValueError(f"the block period must be positive, got {block_period_s}")
        self.guard, self.block_period_s, self.clock = guard, block_period_s, clock
        #: slots the chain runs ahead of real time (``devnet advance`` adds to it)
        self.offset_slots = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def target_slot(self, ledger: Any) -> int:
        return int(ledger.slot_config.posix_ms_to_slot(self.clock())) + self.offset_slots

    def sync(self, ledger: Any) -> None:
        """Move the ledger's clock to real time (never back); called under the ledger lock."""
        behind = self.target_slot(ledger) - int(ledger.current_slot)
        if behind > 0:
            ledger.advance_slots(behind)

    def travelled(self, slots: int) -> None:
        """``devnet advance`` moved the chain ``slots`` ahead: keep that lead."""
        self.offset_slots += max(0, slots)

    def beat(self) -> None:
        """One period: real time, then a block."""
        self.guard.write(lambda ledger: ledger.tick())

    def start(self) -> WallClock:
        self.guard.before_write.append(self.sync)
        self.guard.wall_clock = self
        self.guard.write(lambda ledger: None)  # catch up with real time now

        def run() -> None:
            while not self._stop.wait(self.block_period_s):
                try:
                    self.beat()
                except Exception:  # a failed beat (disk full...) must not stop the clock
                    log.exception("devnet wall clock: forming a block failed")

        self._thread = threading.Thread(target=run, name="devnet-wall-clock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.sync in self.guard.before_write:
            self.guard.before_write.remove(self.sync)
        if getattr(self.guard, "wall_clock", None) is self:
            self.guard.wall_clock = None


def check_block_period(block_period_s: float) -> None:
    """``--block-period`` is refused before anything is created."""
    if not (math.isfinite(block_period_s) and 0.05 <= block_period_s <= 86_400):
        raise UserInputError(f"--block-period must be between 0.05 and 86400 seconds, got {block_period_s}",
                             location="--block-period", hint=f"e.g. {DEFAULT_BLOCK_PERIOD_S:g}")


@contextlib.contextmanager
def following_real_time(guard: Any, enabled: bool, block_period_s: float = DEFAULT_BLOCK_PERIOD_S,
                        ) -> Iterator[WallClock | None]:
    """``devnet up --wall-clock [--block-period S]``: run a :class:`WallClock` while serving."""
    check_block_period(block_period_s)
    if not enabled:
        yield None
        return
    clock = WallClock(guard, block_period_s).start()
    try:
        yield clock
    finally:
        clock.stop()


__all__ = ["DEFAULT_BLOCK_PERIOD_S", "WallClock", "check_block_period", "following_real_time", "start_near_now"]
