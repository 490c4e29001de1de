"""Who can claim what, and why not: pure arithmetic over chain facts.

The facts (what is still locked, which milestones are certified, the chain's clock,
whether the owner reclaimed) come from the engine's observation; this module only
decides, per allocation of the definition, one :class:`Reason`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from runner.domain.schedule import Allocation


class Reason(str, Enum):
    CLAIMABLE = "claimable"
    NOT_CERTIFIED = "not certified"
    VESTING_IN_FUTURE = "vesting in the future"
    ALREADY_RELEASED = "already released"
    RECLAIMED = "reclaimed"
    NOT_REGISTERED = "not registered"


@dataclass(frozen=True)
class ChainFacts:
    """What the chain says about one schedule right now."""

    registered: bool
    locked: frozenset[tuple[str, str]]  # (beneficiary, milestone) still locked
    certified: frozenset[str]  # milestone ids with a certificate
    now_ms: int
    expiry_ms: int
    reclaimed: frozenset[tuple[str, str]] = frozenset()  # taken back by the owner


@dataclass(frozen=True)
class ClaimStatus:
    allocation: Allocation
    reason: Reason
    now_ms: int = 0

    @property
    def claimable(self) -> bool:
        return self.reason is Reason.CLAIMABLE

    @property
    def vesting_passed(self) -> bool:
        return self.allocation.vesting_ms <= self.now_ms


def status_of(allocation: Allocation, facts: ChainFacts) -> Reason:
    if not facts.registered:
        return Reason.NOT_REGISTERED
    if allocation.key not in facts.locked:
        return Reason.RECLAIMED if allocation.key in facts.reclaimed else Reason.ALREADY_RELEASED
    if allocation.milestone not in facts.certified:
        return Reason.NOT_CERTIFIED
    if allocation.vesting_ms > facts.now_ms:
        return Reason.VESTING_IN_FUTURE
    return Reason.CLAIMABLE


def statuses(allocations: Iterable[Allocation], facts: ChainFacts) -> list[ClaimStatus]:
    return [ClaimStatus(a, status_of(a, facts), facts.now_ms) for a in allocations]


def claimable_amount(found: Sequence[ClaimStatus]) -> int:
    return sum(s.allocation.amount for s in found if s.claimable)


def select(found: Sequence[ClaimStatus], *, beneficiary: str | None = None,
           milestone: str | None = None) -> list[ClaimStatus]:
    return [s for s in found if (beneficiary is None or s.allocation.beneficiary == beneficiary)
            and (milestone is None or s.allocation.milestone == milestone)]
