"""The one error tree of the project.

Every error a user can see is a :class:`MilestonesError`: it carries a stable
``code`` (a short string that never changes meaning), a ``location`` (a file:line,
a JSON path such as ``$.steps[2].release.milestone``, or a URL) and a ``hint`` that
says what to do next. The CLI prints those three and exits with ``exit_code``;
it never shows a traceback for one of these.

::

    MilestonesError                      exit 1
    ├── UserInputError                   exit 2   bad flag, bad file, bad value
    │   ├── ConfigError                           config.yaml / environment
    │   └── PlanError                             plan file: YAML, template, schema
    ├── ChainError                       exit 3   talking to the chain went wrong
    │   ├── ChainUnavailable                      connection refused, timeout, 5xx (transient)
    │   └── ProtocolError                         the server answered something we cannot read
    ├── LedgerRejection                  exit 4   the ledger refused a transaction
    │   └── ScriptFailure                         phase 2: a script failed or ran out of budget
    ├── StateError                       exit 5   data directory: lock held, journal unreadable
    └── InDoubt                          exit 6   a submitted transaction's fate is unknown

Library exceptions are translated where they enter the project (``raise ... from exc``).
"""

from __future__ import annotations

from typing import Any


class MilestonesError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code = 1
    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        location: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.location = location
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, as printed by ``--output json``."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.location:
            out["location"] = self.location
        if self.hint:
            out["hint"] = self.hint
        return out

    def __str__(self) -> str:
        text = self.message
        if self.location:
            text = f"{self.location}: {text}"
        if self.hint:
            text = f"{text}\n  hint: {self.hint}"
        return text


class UserInputError(MilestonesError):
    exit_code = 2
    default_code = "bad-input"


class ConfigError(UserInputError):
    default_code = "bad-config"


class PlanError(UserInputError):
    default_code = "bad-plan"


class ChainError(MilestonesError):
    exit_code = 3
    default_code = "chain-error"


class ChainUnavailable(ChainError):
    """Transient: the only kind of chain error that retries may repeat."""

    default_code = "chain-unavailable"


class ProtocolError(ChainError):
    default_code = "protocol-error"


class LedgerRejection(MilestonesError):
    """The ledger refused a transaction.

    ``ogmios_code`` and ``data`` follow Ogmios v6's submitTransaction errors
    (3117 unknown inputs, 3118 outside validity interval, 3122 fee too small, ...),
    so the devnet server can pass them through unchanged and a client can map them back.
    """

    exit_code = 4
    default_code = "ledger-rejected"

    def __init__(
        self,
        message: str,
        *,
        ogmios_code: int,
        data: Any = None,
        code: str | None = None,
        location: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, location=location, hint=hint)
        self.ogmios_code = ogmios_code
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["ogmios_code"] = self.ogmios_code
        if self.data is not None:
            out["data"] = self.data
        return out


class ScriptFailure(LedgerRejection):
    default_code = "script-failed"


class StateError(MilestonesError):
    exit_code = 5
    default_code = "bad-state"


class InDoubt(MilestonesError):
    exit_code = 6
    default_code = "in-doubt"
