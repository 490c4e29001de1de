"""Problems found in a plan, as values: each one knows its file, line, column and JSON path.

Why values and not exceptions: ``milestones validate`` reports every problem of every
plan in one run (jsonschema's lesson: errors are data that carry a path), so the loader,
the template renderer, the schema check and the cross-reference check all *collect*
:class:`Problem` s; only at the end does :class:`PlanInvalid` (a ``PlanError``, exit 2)
carry the sorted list to the user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from runner.errors import PlanError

#: A JSON path as a tuple of keys and indices, e.g. ``("steps", 2, "release", "milestone")``.
Path = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(path: Path) -> str:
    """``("steps", 2, "release")`` -> ``$.steps[2].release`` (odd keys as ``['a-b']``)."""
    parts = ["$"]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            parts.append(f".{part}")
        else:
            parts.append("['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']")
    return "".join(parts)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a plan; sorts by file, then position, then path."""

    file: str
    line: int
    column: int
    path: str
    code: str
    message: str
    hint: str = ""

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "column": self.column,
                               "path": self.path, "code": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out

    def __str__(self) -> str:
        text = f"{self.location}: {self.path}: {self.message} [{self.code}]"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class PlanInvalid(PlanError):
    """One or more problems in one or more plans (exit 2); ``problems`` is sorted."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = sorted(set(problems))
        first = self.problems[0] if self.problems else None
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} found",
            code=first.code if first and count == 1 else "invalid-plan",
            location=first.location if first else None,
            hint="fix each problem listed; `milestones validate PLAN` lists them all without touching the chain",
        )

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["problems"] = [p.to_dict() for p in self.problems]
        return out

    def __str__(self) -> str:
        lines = [self.message] + [f"  {p}".replace("\n", "\n  ") for p in self.problems]
        return "\n".join(lines)
