"""JSON-RPC plumbing shared by the devnet's Ogmios method modules: refusals and parameters.

Every refusal is an :class:`RpcFailure` carrying Ogmios' own code; a bad parameter is a
:class:`BadParams` (-32602) whose message names the field. Kept apart from the method
tables so each method family (queries, mempool, chain sync) can use it without an import
circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pycardano import Address, TransactionInput

from runner.devnet.servers.ogmios import shapes


class RpcFailure(Exception):
    """An answer with ``error`` instead of ``result``: an Ogmios code, message and data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def to_json(self) -> dict[str, Any]:
        return shapes.rpc_error(self.code, self.message, self.data)


# --- request parameters -> ledger objects ----------------------------------------------

class BadParams(ValueError):
    """A request parameter Ogmios would refuse with -32602; the message names the field."""


def params_object(params: Any, method: str) -> Mapping[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise BadParams(f"Invalid request: 'params' of {method} must be an object, got "
                        f"{type(params).__name__}.")
    return params


def no_params(params: Any, method: str) -> None:
    """Methods that take nothing refuse something (absent, null and {} are nothing)."""
    if params is None or params == {}:
        return
    shown = str(params)[:80]
    raise BadParams(f"Invalid request: {method} takes no params, got {shown}.")


def transaction_cbor(params: Mapping[str, Any], method: str) -> str:
    """``params.transaction.cbor`` (hex) of submitTransaction / evaluateTransaction."""
    tx = params.get("transaction")
    cbor = tx.get("cbor") if isinstance(tx, Mapping) else None
    if not isinstance(cbor, str):
        raise BadParams(f"Invalid request: {method} needs params.transaction.cbor, the "
                        "hex-encoded CBOR of a signed transaction.")
    return cbor


def parse_address(text: Any, where: str) -> Address:
    if not isinstance(text, str) or not text:
        raise BadParams(f"Invalid request: {where} must be an address string (bech32 or hex).")
    try:
        if all(c in "0123456789abcdefABCDEF" for c in text) and len(text) % 2 == 0:
            return Address.from_primitive(bytes.fromhex(text))
        return Address.from_primitive(text)
    except Exception as exc:  # pycardano raises several kinds on a bad address
        raise BadParams(f"Invalid request: {where} is not a valid Cardano address "
                        f"({text[:120]!r}: {exc}).") from exc


_HEX64 = frozenset("0123456789abcdef")


def parse_output_reference(raw: Any, where: str) -> TransactionInput:
    tx = raw.get("transaction") if isinstance(raw, Mapping) else None
    tx_id = tx.get("id") if isinstance(tx, Mapping) else None
    index = raw.get("index") if isinstance(raw, Mapping) else None
    if (not isinstance(tx_id, str) or len(tx_id) != 64 or not set(tx_id) <= _HEX64
            or not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise BadParams(f"Invalid request: {where} must be "
                        '{"transaction": {"id": <64 hex chars>}, "index": <int >= 0>}.')
    return TransactionInput.from_primitive([bytes.fromhex(tx_id), index])


def parse_list(params: Mapping[str, Any], key: str) -> list[Any]:
    items = params.get(key)
    if not isinstance(items, list):
        raise BadParams(f"Invalid request: params.{key} must be a list.")
    return items
