"""Lazy front doors: a package's ``__all__`` names load their module on first use.

``milestones --help`` and the devnet commands that only read a lock file must not pay for
pycardano and the Plutus machine (~1.5 s), so the devnet's ``__init__`` modules import
nothing at start: each declares ``EXPORTS`` (name -> defining module) and gets
``__getattr__``/``__dir__`` from :func:`front_door`. (Type checkers read the same names
from the ``if TYPE_CHECKING:`` imports beside; tests/devnet/test_front_doors.py checks
that the two agree and that every name resolves.)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def front_door(package: str, exports: Mapping[str, str],
               namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each public name to
    the module defining it (a name equal to the module's last part is the module itself)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(module)
        value = loaded if module.rpartition(".")[2] == name else getattr(loaded, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
