"""The step contract: observe (chain facts) -> decide (pure) -> build (the contract's builder).

A step kind is a small class; :data:`REGISTRY` maps kind names to classes (the plan
runner dispatches through it).  ``decide`` is pure: facts in, a :class:`Decision` out
(an action, or "nothing to do, because ..."); ``build`` turns an action into unsigned
transactions; the engine journals, signs, submits and confirms them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from runner.engine.adapter import UnsignedTx
from runner.engine.context import Context
from runner.errors import LedgerRejection, MilestonesError


@dataclass(frozen=True)
class Decision:
    """``action`` None means nothing to do; ``reason`` always says why."""

    action: str | None
    reason: str
    payload: Any = None

    @property
    def noop(self) -> bool:
        return self.action is None


class WorkAlreadyDone(Exception):  # a signal, not an error
    """Raised by ``build`` when the chain refuses to even evaluate the work because it is
    already done (e.g. the stake credential is registered); the engine reports a Noop."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChainMoved(Exception):  # a signal, not an error
    """Raised by ``build`` when something it observed is gone by the time it builds (another
    runner spent it): the engine observes again (bounded); ``error`` is raised if the chain
    never settles."""

    def __init__(self, error: MilestonesError) -> None:
        super().__init__(str(error))
        self.error = error


def noop(reason: str) -> Decision:
    return Decision(None, reason)


@dataclass
class Step:
    """Base class: subclasses set ``kind`` and implement the four methods."""

    kind: ClassVar[str] = "step"
    #: observe again after acting, until the decision is a no-op (a release may need
    #: more transactions than the payer's UTxOs can pay for in one round)
    repeat: ClassVar[bool] = False
    #: the journal groups entries by this id; stable across runs for the same work
    id: str = field(default="", kw_only=True)

    def observe(self, ctx: Context) -> Any:
        raise NotImplementedError

    def decide(self, facts: Any) -> Decision:
        raise NotImplementedError

    def build(self, ctx: Context, facts: Any, decision: Decision) -> list[UnsignedTx]:
        raise NotImplementedError

    def result(self, ctx: Context, facts: Any) -> dict[str, Any]:
        """The command's JSON result, from the last observation."""
        return {}

    def ignored(self, facts: Any) -> list[tuple[str, str]]:
        """(what, why) things on chain this step skipped; reported as events."""
        return []

    def already_done(self, rejection: LedgerRejection) -> str | None:
        """A ledger refusal that means the work is already done (reason), else None."""
        return None


REGISTRY: dict[str, type[Step]] = {}


def register(cls: type[Step]) -> type[Step]:
    REGISTRY[cls.kind] = cls
    return cls
