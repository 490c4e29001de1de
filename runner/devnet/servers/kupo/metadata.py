"""Kupo's ``GET /metadata/{slot}``: the transaction metadata of the block at a slot.

The engine discovers schedules from the chain (issue 7) by reading the metadata of the blocks
it follows; Kupo serves it per block. Shape (Kupo v2.12 OpenAPI ``Metadata``): per
transaction with metadata, in block order, ``{"hash", "raw", "schema"}`` where ``hash`` is
the transaction's auxiliary-data hash (as its body commits to it), ``raw`` the auxiliary
data's CBOR and ``schema`` the metadata in Kupo's typed JSON (int, string, bytes, list, map).
"""

from __future__ import annotations

from typing import Any

import cbor2

from runner.devnet.servers.ogmios import shapes

Json = dict[str, Any]
#: CBOR tag of Alonzo-and-later auxiliary data (a map whose key 0 holds the metadata)
ALONZO_AUX_TAG = 259


def metadatum(value: Any) -> Json:
    """Kupo's typed JSON for one metadatum."""
    if isinstance(value, bool):  # not a metadatum, but never let True become an int silently
        raise TypeError("booleans are not transaction metadata")
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, str):
        return {"string": value}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, (list, tuple)):
        return {"list": [metadatum(v) for v in value]}
    if isinstance(value, dict):
        return {"map": [{"k": metadatum(k), "v": metadatum(v)} for k, v in value.items()]}
    raise TypeError(f"not transaction metadata: {type(value).__name__}")


def _labels(aux: Any) -> dict[int, Any]:
    """The metadata map of auxiliary data in any era's encoding."""
    if isinstance(aux, cbor2.CBORTag) and aux.tag == ALONZO_AUX_TAG:
        found = aux.value.get(0, {}) if isinstance(aux.value, dict) else {}
    elif isinstance(aux, list) and aux:  # Allegra: [metadata, scripts]
        found = aux[0]
    else:
        found = aux
    return found if isinstance(found, dict) else {}


def transaction_metadata(tx_cbor: bytes) -> Json | None:
    """``Metadata`` of one transaction, or None when it carries none."""
    try:
        tx = cbor2.loads(tx_cbor)
        body, aux = tx[0], tx[3] if len(tx) > 3 else None
    except Exception:  # noqa: BLE001 - accepted by the ledger: a decoder gap means no metadata shown
        return None
    labels = _labels(aux) if aux is not None else {}
    if not labels:
        return None
    try:
        schema = {str(label): metadatum(value) for label, value in labels.items()}
    except TypeError:  # the ledger checked it; a decoder gap must not fail the whole block
        return None
    raw = cbor2.dumps(aux)
    digest = body.get(7) if isinstance(body, dict) else None
    return {"hash": digest.hex() if isinstance(digest, bytes) else shapes.blake2b_256(raw),
            "raw": raw.hex(), "schema": schema}


def metadata_at(ledger: Any, slot: int, transaction_id: str | None = None) -> tuple[list[Json], str | None]:
    """(metadata of the block at ``slot``, its header hash); ([], None) when no block is there."""
    block = next((b for b in reversed(ledger.blocks) if int(b.slot) == slot), None)
    if block is None:
        return [], None
    found = [transaction_metadata(t.cbor) for t in block.txs
             if transaction_id is None or t.tx_id == transaction_id]
    return [m for m in found if m is not None], str(block.block_hash)


__all__ = ["metadata_at", "metadatum", "transaction_metadata"]
