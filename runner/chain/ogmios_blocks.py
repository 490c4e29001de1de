"""The height of the block at a chain point, through Ogmios chain synchronization.

Kupo says which block holds a transaction (``created_at``: slot and header hash) but not its
height; confirmation depth is counted in blocks from there.  ``findIntersection`` at that
point answers the tip (with its height); when the point is not the tip, the first
``nextBlock`` rolls back to the point and the second is the block after it, whose height
minus one is the point's.  The answers are checked: the intersection must be the point asked
for and the next block must name it as its ancestor.  Nothing here waits: ``nextBlock`` is
asked only when the tip is past the point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runner.chain import ogmios_codec as codec
from runner.chain.ogmios_shapes import as_obj, hex_str, integer, parsing, text
from runner.errors import ProtocolError

INTERSECTION_NOT_FOUND = 1000
Request = Callable[[str, "Mapping[str, Any] | None"], Mapping[str, Any]]


def _point(raw: Any, path: str) -> tuple[int, str]:
    point = as_obj(raw, path)
    return integer(point["slot"], f"{path}.slot"), hex_str(point["id"], f"{path}.id", 32)


@parsing("findIntersection answer")
def _intersection(result: Any, slot: int, block_hash: str) -> tuple[bool, int]:
    """(the point is the tip, the tip's height)."""
    answer = as_obj(result, "$")
    if _point(answer["intersection"], "$.intersection") != (slot, block_hash):
        raise ValueError("$.intersection: not the point asked for")
    tip = as_obj(answer["tip"], "$.tip")
    return _point(tip, "$.tip") == (slot, block_hash), integer(tip["height"], "$.tip.height")


@parsing("nextBlock answer")
def _next(result: Any, slot: int, block_hash: str, step: str) -> int | None:
    """A ``backward`` to the point (None), or the ``forward`` block after it (its height)."""
    answer = as_obj(result, "$")
    direction = text(answer["direction"], "$.direction")
    if step == "backward":
        if direction != "backward" or _point(answer["point"], "$.point") != (slot, block_hash):
            raise ValueError("$: expected a roll backward to the intersection")
        return None
    block = as_obj(answer["block"], "$.block") if direction == "forward" else None
    if block is None or text(block["ancestor"], "$.block.ancestor") != block_hash:
        raise ValueError("$.block: expected the block after the intersection")
    return integer(block["height"], "$.block.height")


def height_at(call: Request, slot: int, block_hash: str) -> int | None:
    """The height of the block (slot, hash) on the current chain; None when it is not on it
    (rolled back).  Unreadable answers are ``ProtocolError``."""
    point = {"slot": slot, "id": block_hash}
    response = call("findIntersection", {"points": [point]})
    error = response.get("error")
    if isinstance(error, Mapping) and error.get("code") == INTERSECTION_NOT_FOUND:
        return None
    at_tip, tip_height = _intersection(codec.result_of(response, "findIntersection"), slot, block_hash)
    if at_tip:
        return tip_height
    _next(codec.result_of(call("nextBlock", None), "nextBlock"), slot, block_hash, "backward")
    after = _next(codec.result_of(call("nextBlock", None), "nextBlock"), slot, block_hash, "forward")
    if after is None or after < 1:
        raise ProtocolError("Ogmios sent a block after the intersection at height 0")
    return after - 1
