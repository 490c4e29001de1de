"""Bad input as values: every problem names its file, entry and field, and all are reported.

Validation never stops at the first problem (STYLE.md 5): parsers append
:class:`Problem` values to a :class:`Problems` collector and raise one
:class:`BadInput` at the end, sorted by location, so a user fixes a file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.errors import UserInputError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: ``where`` is a file (or a flag), ``entry`` a JSON
    path inside it (``$[3]``), ``field`` the key (``token_amount``)."""

    where: str
    message: str
    entry: str | None = None
    field: str | None = None
    hint: str | None = None

    @property
    def location(self) -> str:
        path = self.entry or ""
        if self.field:
            path = f"{path}.{self.field}" if path else f"$.{self.field}"
        return f"{self.where}: {path}" if path else self.where

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"location": self.location, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class BadInput(UserInputError):
    """Several problems at once; the first (by location) is the headline."""

    def __init__(self, problems: list[Problem], *, code: str | None = None) -> None:
        ordered = sorted(problems, key=lambda p: (p.where, _entry_key(p.entry), p.field or ""))
        head = ordered[0]
        extra = f" (and {len(ordered) - 1} more problem(s))" if len(ordered) > 1 else ""
        super().__init__(head.message + extra, code=code, location=head.location, hint=head.hint)
        self.problems = ordered

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["problems"] = [p.to_dict() for p in self.problems]
        return out

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return super().__str__()
        lines = [f"{len(self.problems)} problems:"]
        for p in self.problems:
            lines.append(f"  {p.location}: {p.message}" + (f" (hint: {p.hint})" if p.hint else ""))
        return "\n".join(lines)


def _entry_key(entry: str | None) -> tuple[int, str]:
    """``$[10]`` sorts after ``$[9]``."""
    if entry and entry.startswith("$[") and entry.endswith("]") and entry[2:-1].isdigit():
        return (int(entry[2:-1]), "")
    return (-1, entry or "")


@dataclass
class Problems:
    """A collector: ``add`` as you go, ``raise_if_any`` at the end."""

    items: list[Problem] = field(default_factory=list)

    def add(self, where: str, message: str, *, entry: str | None = None, field: str | None = None,
            hint: str | None = None) -> None:
        self.items.append(Problem(where, message, entry, field, hint))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, code: str | None = None) -> None:
        if self.items:
            raise BadInput(list(self.items), code=code)
