"""Typed readers for JSON fields, each naming its JSON path when the shape is wrong.

Used by the Ogmios codec (and the Kupo client) so that every unreadable answer becomes
one ``ProtocolError`` that says which field was wrong, instead of a ``KeyError`` deep
inside a builder.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any, ParamSpec, TypeVar

from runner.errors import ProtocolError

P = ParamSpec("P")
R = TypeVar("R")

_HEX = re.compile(r"^(?:[0-9a-f]{2})*$")
_RATIO = re.compile(r"^(-?[0-9]+)/([0-9]+)$")


def parsing(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn shape errors raised while reading ``what`` into a ``ProtocolError``."""

    def decorate(parse: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(parse)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return parse(*args, **kwargs)
            except KeyError as exc:
                raise ProtocolError(
                    f"unreadable {what} from the chain server: missing field {exc}",
                    hint="check that the server speaks Ogmios v6.14 / Kupo v2",
                ) from exc
            except (TypeError, ValueError, AttributeError) as exc:
                raise ProtocolError(
                    f"unreadable {what} from the chain server: {exc}",
                    hint="check that the server speaks Ogmios v6.14 / Kupo v2",
                ) from exc

        return wrapper

    return decorate


def as_obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{path}: expected an object, got {type(value).__name__}")
    return value


def as_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{path}: expected an array, got {type(value).__name__}")
    return value


def integer(value: Any, path: str, *, signed: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{path}: expected an integer, got {value!r}")
    if value < 0 and not signed:
        raise ValueError(f"{path}: expected a non-negative integer, got {value}")
    return value


def number(value: Any, path: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{path}: expected a number, got {value!r}")
    return float(value)


def text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{path}: expected a string, got {value!r}")
    return value


def hex_str(value: Any, path: str, size: int | None) -> str:
    """Lower-case hex of ``size`` bytes (any whole number of bytes when ``size`` is None)."""
    raw = text(value, path)
    if not _HEX.match(raw) or (size is not None and len(raw) != 2 * size):
        want = f"{size} bytes of" if size is not None else "whole bytes of"
        raise ValueError(f"{path}: expected {want} lower-case hex, got {raw[:80]!r}")
    return raw


def hex_bytes(value: Any, path: str) -> bytes:
    return bytes.fromhex(hex_str(value, path, None))


def fraction(value: Any, path: str) -> Fraction:
    """An exact ratio: Ogmios sends ``"a/b"`` strings; never go through float."""
    match = _RATIO.match(text(value, path))
    if match is None or int(match.group(2)) == 0:
        raise ValueError(f"{path}: expected a ratio 'a/b', got {value!r}")
    return Fraction(int(match.group(1)), int(match.group(2)))


def lovelace_of(obj: Mapping[str, Any], path: str) -> int:
    """``{"ada": {"lovelace": n}}`` -> n."""
    ada = as_obj(obj["ada"], f"{path}.ada")
    return integer(ada["lovelace"], f"{path}.ada.lovelace")


def size_of(value: Any, path: str) -> int:
    """``{"bytes": n}`` -> n."""
    return integer(as_obj(value, path)["bytes"], f"{path}.bytes")


_UTC = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z?$")


def utc_time(value: Any, path: str) -> datetime:
    """An Ogmios ``UtcTime``; digits beyond microseconds (Ogmios sends up to 12) are cut."""
    match = _UTC.match(text(value, path))
    if match is None:
        raise ValueError(f"{path}: {value!r} is not an ISO-8601 UTC time")
    micros = (match.group(2) or ".0")[1:7].ljust(6, "0")
    base = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    return base.replace(microsecond=int(micros), tzinfo=timezone.utc)
