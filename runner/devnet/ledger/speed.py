"""Memoize ``typing.get_type_hints`` inside pycardano's (de)serializer.

pycardano re-derives the type hints of a dataclass on every ``from_primitive`` /
``to_primitive`` call; ``typing.get_type_hints`` re-evaluates every string annotation
each time. That was ~60% of the devnet's submit time for a plain payment. The hints of
a class never change once its module is imported, so caching them per class is exact;
tests/devnet/ledger/test_ledger_speed.py checks decoding and encoding are byte-identical with and
without the cache. Installed once, when the ledger module is imported.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import pycardano.serialization as _serialization

_ORIGINAL = typing.get_type_hints


@functools.lru_cache(maxsize=4096)
def _cached_type_hints(obj: Any, globalns: Any = None, localns: Any = None, include_extras: bool = False) -> Any:
    return _ORIGINAL(obj, globalns, localns, include_extras)


def _get_type_hints(obj: Any, globalns: Any = None, localns: Any = None, include_extras: bool = False) -> Any:
    try:
        return dict(_cached_type_hints(obj, globalns, localns, include_extras))
    except TypeError:  # unhashable namespace arguments: no caching
        return _ORIGINAL(obj, globalns, localns, include_extras)


def install() -> None:
    """Idempotent: route pycardano.serialization's get_type_hints through the cache."""
    _serialization.get_type_hints = _get_type_hints


def uninstall() -> None:
    _serialization.get_type_hints = _ORIGINAL
