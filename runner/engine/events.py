"""What the engine reports while it runs: typed events, one stream for every command.

The CLI prints them (text or ``--output json`` NDJSON with ``"event"`` and ``"v": 1``);
the plan runner consumes the same stream.  No event ever carries a signing key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EVENT_VERSION = 1
KNOWN_AFTER_APPLY = "(known after apply)"


@dataclass(frozen=True)
class TxSummary:
    tx_id: str
    kind: str
    fee: int
    size: int
    inputs: int
    collateral: int = 0


@dataclass(frozen=True)
class Event:
    step: str

    @property
    def name(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict[str, Any]:
        return {"v": EVENT_VERSION, "event": self.name, **asdict(self)}


@dataclass(frozen=True)
class StepStarted(Event):
    kind: str = ""


@dataclass(frozen=True)
class Noop(Event):
    """Nothing to do: already true on chain (``reason`` says what and why)."""

    reason: str = ""


@dataclass(frozen=True)
class Planned(Event):
    """An action the step would take, with its transactions (plan mode) or about to take."""

    action: str = ""
    txs: tuple[TxSummary, ...] = ()
    known_after_apply: bool = False


@dataclass(frozen=True)
class Journaled(Event):
    tx_id: str = ""


@dataclass(frozen=True)
class Submitted(Event):
    tx_id: str = ""
    fee: int = 0


@dataclass(frozen=True)
class Confirmed(Event):
    tx_id: str = ""
    depth: int = 0


@dataclass(frozen=True)
class AlreadyDone(Event):
    """The ledger refused our spend because someone (or an earlier run) already did it."""

    tx_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Recovered(Event):
    """A journal entry from an earlier run, resolved against the chain."""

    tx_id: str = ""
    fate: str = ""  # on chain | in mempool | dead | resubmitted
    detail: str = ""


@dataclass(frozen=True)
class Ignored(Event):
    """Something on chain the step skipped (junk UTxOs at the script address, ...)."""

    what: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Repaired(Event):
    path: str = ""
    problem: str = ""
    set_aside: str | None = None


@dataclass(frozen=True)
class StepFinished(Event):
    changed: bool = False
    result: dict[str, Any] = field(default_factory=dict)
