"""Retry policy as data: how often, how long, and which failures.

Only ``ChainUnavailable`` is ever retried (DESIGN.md §5.4): a ledger rejection or an
unreadable answer is never repeated blindly. A policy may narrow further by error
code: submissions retry only ``chain-unreachable`` (the request provably never left
this machine), because resending after a lost answer must go through the engine's
journal, not through a loop here. The sleep is injected so tests never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from runner.errors import ChainUnavailable

T = TypeVar("T")

UNREACHABLE = "chain-unreachable"  # ChainUnavailable code: nothing was sent
LOST = "chain-unavailable"  # ChainUnavailable code: sent, but the answer was lost

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: ``first_delay * multiplier**n`` seconds, capped at ``max_delay``.

    ``retry_codes``: the ``ChainUnavailable.code`` values worth retrying
    (``None`` = every ``ChainUnavailable``).
    """

    attempts: int = 5
    first_delay: float = 0.5
    max_delay: float = 8.0
    multiplier: float = 2.0
    retry_codes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")

    def should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, ChainUnavailable):
            return False
        return self.retry_codes is None or exc.code in self.retry_codes

    def delays(self) -> list[float]:
        """The waits between attempts, in order (``attempts - 1`` of them)."""
        return [
            min(self.max_delay, self.first_delay * self.multiplier**n)
            for n in range(self.attempts - 1)
        ]

    def run(self, operation: Callable[[], T], *, sleep: Sleep = time.sleep) -> T:
        """Call ``operation`` until it succeeds, a non-retryable error occurs, or attempts run out.

        The last error is re-raised unchanged, so callers see the real cause.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(
                multiplier=self.first_delay,
                exp_base=self.multiplier,
                max=self.max_delay,
            ),
            retry=retry_if_exception(self.should_retry),
            sleep=sleep,
            reraise=True,
        )
        return retrying(operation)


DEFAULT_RETRY = RetryPolicy()
SUBMIT_RETRY = RetryPolicy(retry_codes=frozenset({UNREACHABLE}))
NO_RETRY = RetryPolicy(attempts=1)
