"""Ogmios chain synchronization (``findIntersection``, ``nextBlock``) over the devnet's blocks.

Indexers, wallets and Kupo itself follow a chain with this protocol; the engine can watch
for rollbacks the way production tools do. Ogmios' rules, kept here:

- a connection starts at the origin: its first ``nextBlock`` is a ``backward`` to
  ``"origin"``, then every block from the genesis block (height 0) on;
- ``findIntersection`` takes points (``"origin"`` or ``{slot, id}``), best first, and picks
  the first one on the chain; the next ``nextBlock`` is a ``backward`` to it. No point on
  the chain: error 1000 ``IntersectionNotFound`` with the tip;
- after a devnet rollback (or reset), a follower whose last block is no longer on the chain
  gets a ``backward`` to the newest block it saw that still is, then the new blocks;
- at the tip, ``nextBlock`` waits for the next block (:data:`AWAIT`: the server retries when
  the ledger changes).

Blocks are in Ogmios v6.14's ``Block<Praos>`` shape. The devnet has no stake pools, so the
issuer fields are fixed, well-formed stand-ins; the transactions are the real ones.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from runner.devnet.servers.ogmios import shapes
from runner.devnet.servers.ogmios import tx as ogmios_tx
from runner.devnet.servers.ogmios.rpc import BadParams, RpcFailure, no_params, params_object

Json = dict[str, Any]
log = logging.getLogger(__name__)
INTERSECTION_NOT_FOUND = 1000
#: ``nextBlock`` has nothing to send yet: answer when the chain moves.
AWAIT = object()
_HASH = re.compile(r"^[0-9a-f]{64}$")
#: Bytes a Praos header takes on mainnet (what ``size`` adds to the transactions' bytes).
HEADER_BYTES = 860


def _stand_in(label: str, nbytes: int) -> str:
    return (shapes.blake2b_256(f"milestones-devnet-{label}".encode()) * 4)[: 2 * nbytes]


ISSUER: Json = {
    "verificationKey": _stand_in("issuer", 32),
    "vrfVerificationKey": _stand_in("vrf", 32),
    "operationalCertificate": {"count": 0, "kes": {"period": 0, "verificationKey": _stand_in("kes", 32)}},
    "leaderValue": {"output": _stand_in("leader-output", 64), "proof": _stand_in("leader-proof", 80)},
}


@dataclass
class Follower:
    """One connection's place on the chain: the hashes it was sent, by height."""

    seen: list[str] = field(default_factory=list)
    #: a ``backward`` owed to the client (the start, or the intersection it asked for)
    rollback_to: Json | str | None = "origin"


def _point(block: Any) -> Json:
    return {"slot": int(block.slot), "id": str(block.block_hash)}


def _tip(ledger: Any) -> Json | str:
    tip = ledger.tip
    return shapes.tip(shapes.ChainPoint(int(tip.slot), str(tip.block_hash), int(tip.height)))


def _parse_point(raw: Any, where: str) -> tuple[int, str] | None:
    """(slot, id) of a point, None for ``"origin"``; BadParams otherwise."""
    if raw == "origin":
        return None
    slot = raw.get("slot") if isinstance(raw, dict) else None
    block_id = raw.get("id") if isinstance(raw, dict) else None
    if (not isinstance(slot, int) or isinstance(slot, bool) or slot < 0 or not isinstance(block_id, str)
            or not _HASH.match(block_id) or set(raw) != {"slot", "id"}):
        raise BadParams(f'Invalid request: {where} must be "origin" or {{"slot": <int>, "id": <64 hex chars>}}.')
    return slot, block_id


def find_intersection(ledger: Any, follower: Follower, params: Any) -> Json:
    points = params_object(params, "findIntersection").get("points")
    if not isinstance(points, list):
        raise BadParams('Invalid request: findIntersection needs params.points, a list of points ("origin" or '
                        '{"slot", "id"}), most recent first.')
    wanted = [_parse_point(p, f"params.points[{i}]") for i, p in enumerate(points)]
    blocks = ledger.blocks
    heights = {str(b.block_hash): h for h, b in enumerate(blocks)}
    for point in wanted:
        if point is None:
            follower.seen, follower.rollback_to = [], "origin"
            return {"intersection": "origin", "tip": _tip(ledger)}
        height = heights.get(point[1])
        if height is not None and int(blocks[height].slot) == point[0]:
            follower.seen = [str(b.block_hash) for b in blocks[: height + 1]]
            follower.rollback_to = _point(blocks[height])
            return {"intersection": follower.rollback_to, "tip": _tip(ledger)}
    raise RpcFailure(INTERSECTION_NOT_FOUND, "No intersection found with the requested points.",
                     {"tip": _tip(ledger)})


def next_block(ledger: Any, follower: Follower, params: Any) -> Any:
    """A ``forward`` (the next block), a ``backward`` (a point), or :data:`AWAIT`."""
    no_params(params, "nextBlock")
    if follower.rollback_to is not None:
        point, follower.rollback_to = follower.rollback_to, None
        return {"direction": "backward", "tip": _tip(ledger), "point": point}
    blocks = ledger.blocks
    seen = follower.seen
    fork = _fork_height(blocks, seen)
    if fork is not None:
        del seen[fork + 1:]
        point = "origin" if fork < 0 else _point(blocks[fork])
        return {"direction": "backward", "tip": _tip(ledger), "point": point}
    if len(seen) >= len(blocks):
        return AWAIT
    block = blocks[len(seen)]
    sent = block_json(ledger, len(seen), blocks)  # before moving on: a failure must not skip the block
    seen.append(str(block.block_hash))
    return {"direction": "forward", "tip": _tip(ledger), "block": sent}


def _fork_height(blocks: list[Any], seen: list[str]) -> int | None:
    """None while the follower's last block is on the chain; else the newest height it saw
    that still is (-1: none, back to the origin)."""
    last = len(seen) - 1
    if last < 0 or (last < len(blocks) and str(blocks[last].block_hash) == seen[last]):
        return None
    height = min(last, len(blocks) - 1)
    while height >= 0 and str(blocks[height].block_hash) != seen[height]:
        height -= 1
    return height


def _transaction(applied: Any) -> Json:
    """The transaction's Ogmios JSON; if its CBOR is beyond pycardano's decoder (the ledger
    accepted it with its own), what the ledger recorded: its id, spent inputs and ``cbor``."""
    try:
        return ogmios_tx.transaction(applied.tx_id, applied.cbor)
    except Exception:  # noqa: BLE001 - a decoder gap must not stop every follower at this block
        log.warning("devnet chain sync: transaction %s sent without its decoded fields", applied.tx_id)
        consumed = [{"transaction": {"id": ref.transaction_id.payload.hex()}, "index": int(ref.index)}
                    for ref, _ in applied.undo.consumed]
        return {"id": applied.tx_id, "spends": "inputs" if applied.valid else "collaterals",
                "inputs": consumed, "outputs": [], "signatories": [], "cbor": bytes(applied.cbor).hex()}


#: Block JSON by block hash (a block never changes under its hash); bounded.
_BLOCKS: OrderedDict[str, Json] = OrderedDict()
_BLOCKS_LIMIT = 2048


def block_json(ledger: Any, height: int, blocks: list[Any] | None = None) -> Json:
    """cardano.json ``Block<Praos>`` for the ledger's block at ``height``."""
    chain = blocks if blocks is not None else ledger.blocks
    block = chain[height]
    cached = _BLOCKS.get(str(block.block_hash))
    if cached is not None:
        return cached
    transactions = [_transaction(t) for t in block.txs]
    params = ledger.params
    major, minor = int(getattr(params, "protocol_major", 10)), int(getattr(params, "protocol_minor", 0))
    result: Json = {
        "type": "praos",
        "era": "conway",
        "id": str(block.block_hash),
        "ancestor": "genesis" if height == 0 else str(chain[height - 1].block_hash),
        "height": int(block.height),
        "slot": int(block.slot),
        "size": {"bytes": HEADER_BYTES + sum(len(t.cbor) for t in block.txs)},
        "protocol": {"version": {"major": major, "minor": minor}},
        "issuer": ISSUER,
        "transactions": transactions,
    }
    _BLOCKS[str(block.block_hash)] = result
    while len(_BLOCKS) > _BLOCKS_LIMIT:
        _BLOCKS.popitem(last=False)
    return result


__all__ = ["AWAIT", "INTERSECTION_NOT_FOUND", "Follower", "block_json", "find_intersection", "next_block"]
