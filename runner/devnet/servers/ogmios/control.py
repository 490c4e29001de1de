"""Devnet-only JSON-RPC methods (``devnet/...``) on the Ogmios port: time travel, faucet, rollback.

Why: rehearsals move the clock and roll blocks back while clients stay connected, and
``milestones devnet advance|fund|rollback`` must work while ``devnet up`` holds the
ledger. These methods are not Ogmios': real clients never call them, and the names are
namespaced so they can never collide with an Ogmios method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.devnet.servers.guard import LedgerGuard
from runner.devnet.servers.ogmios.rpc import BadParams, no_params, params_object, parse_address
from runner.errors import UserInputError


def status_of(ledger: Any) -> dict[str, Any]:
    """What ``devnet status`` prints: the seed, the clock, the tip, the UTxO count."""
    tip = ledger.tip
    slot = int(ledger.current_slot)
    return {"seed": ledger.genesis.seed, "slot": slot,
            "tip": {"slot": tip.slot, "id": tip.block_hash, "height": tip.height},
            "posix_ms": ledger.slot_config.slot_to_posix_ms(slot), "utxo_count": len(ledger.utxo)}


def _natural(params: dict[str, Any], key: str, method: str) -> int:
    value = params.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadParams(f"Invalid request: {method} needs params.{key}, an integer >= 0.")
    return value


def _advance(guard: LedgerGuard, params: Any) -> dict[str, Any]:
    query = dict(params_object(params, "devnet/advance"))
    if ("slots" in query) == ("posixMs" in query):
        raise BadParams('Invalid request: devnet/advance takes {"slots": N} or {"posixMs": T}.')
    slots = _natural(query, "slots", "devnet/advance") if "slots" in query else None
    target = _natural(query, "posixMs", "devnet/advance") if slots is None else 0

    def advance(ledger: Any) -> dict[str, Any]:
        before = int(ledger.current_slot)
        moved_to = ledger.advance_slots(slots) if slots is not None else ledger.advance_to_posix_ms(target)
        if guard.wall_clock is not None:  # the chain keeps its lead over real time
            guard.wall_clock.travelled(int(moved_to) - before)
        return {"advanced_to_slot": moved_to, **status_of(ledger)}

    return guard.write(advance)


def _fund(guard: LedgerGuard, params: Any) -> dict[str, Any]:
    query = dict(params_object(params, "devnet/fund"))
    address = parse_address(query.get("address"), "params.address")
    if address.payment_part is None:
        raise BadParams(f"Invalid request: params.address {str(address)[:120]} is a reward (stake) address; "
                        "outputs cannot be paid to it (the ledger refuses them). Fund a payment address "
                        "(addr_test1...) that delegates to it instead.")
    lovelace = _natural(query, "lovelace", "devnet/fund")

    def pay(ledger: Any) -> dict[str, Any]:
        ref = ledger.fund(address, lovelace)
        return {"funded": str(address), "lovelace": lovelace,
                "output": f"{ref.transaction_id.payload.hex()}#{ref.index}", **status_of(ledger)}

    return guard.write(pay)


def _rollback(guard: LedgerGuard, params: Any) -> dict[str, Any]:
    query = dict(params_object(params, "devnet/rollback"))
    blocks = _natural(query, "blocks", "devnet/rollback")
    to_mempool = query.get("toMempool", True)
    if not isinstance(to_mempool, bool):
        raise BadParams("Invalid request: devnet/rollback's params.toMempool must be true or false "
                        f"(JSON booleans), got {str(to_mempool)[:40]!r}.")
    unknown = sorted(set(query) - {"blocks", "toMempool"})
    if unknown:
        raise BadParams(f"Invalid request: devnet/rollback takes blocks and toMempool, not {', '.join(unknown)}.")
    return guard.write(lambda ledger: {"returned_to_mempool": ledger.rollback(blocks, to_mempool=to_mempool),
                                       **status_of(ledger)})


def _status(guard: LedgerGuard, params: Any) -> dict[str, Any]:
    no_params(params, "devnet/status")
    return guard.read(status_of)


def _tick(guard: LedgerGuard, params: Any) -> dict[str, Any]:
    no_params(params, "devnet/tick")
    return guard.write(lambda ledger: (ledger.tick(), status_of(ledger))[1])


CONTROL: dict[str, Callable[[LedgerGuard, Any], dict[str, Any]]] = {
    "devnet/status": lambda guard, params: _status(guard, params),
    "devnet/advance": _advance,
    "devnet/fund": _fund,
    "devnet/rollback": _rollback,
    "devnet/tick": _tick,
}


def control(guard: LedgerGuard, method: str, params: Any) -> dict[str, Any]:
    """Run one ``devnet/...`` method; the ledger's refusals become -32602 with its message."""
    try:
        return CONTROL[method](guard, params)
    except UserInputError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise BadParams(f"Invalid request: {exc.message}{hint}") from exc
