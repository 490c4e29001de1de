"""A transaction in Ogmios' JSON (cardano.json ``Transaction``), for ``nextTransaction``.

Ogmios' local-tx-monitor answers ``nextTransaction`` with ``{"fields": "all"}`` by the
whole transaction rather than its id. The devnet builds that shape from the CBOR it keeps
for every mempool transaction: the fields a client reads to follow its own submissions
(inputs, outputs, fee, validity interval, signatories, ...) and the raw ``cbor``.
Certificates, votes, proposals and metadata are left out: they are optional in the
schema and nothing in this project reads them back from the mempool.
"""

from __future__ import annotations

from typing import Any

from pycardano import Transaction

from runner.devnet.ledger import json_codec as ledger_json


def transaction(tx_id: str, cbor: bytes) -> dict[str, Any]:
    """cardano.json ``Transaction`` for one (valid-flag honouring) transaction."""
    tx = Transaction.from_cbor(cbor)
    body = tx.transaction_body
    result: dict[str, Any] = {
        "id": tx_id,
        "spends": "inputs" if tx.valid else "collaterals",
        "inputs": ledger_json.output_references(body.inputs),
        "outputs": [ledger_json.output(o) for o in body.outputs],
        "fee": ledger_json.ada(body.fee),
        "validityInterval": _validity(body.validity_start, body.ttl),
        "signatories": [{"key": w.vkey.payload.hex(), "signature": w.signature.hex()}
                        for w in tx.transaction_witness_set.vkey_witnesses or []],
        "cbor": cbor.hex(),
    }
    if body.reference_inputs:
        result["references"] = ledger_json.output_references(body.reference_inputs)
    if body.collateral:
        result["collaterals"] = ledger_json.output_references(body.collateral)
    if body.total_collateral is not None:
        result["totalCollateral"] = ledger_json.ada(body.total_collateral)
    if body.collateral_return is not None:
        result["collateralReturn"] = ledger_json.output(body.collateral_return)
    if body.required_signers:
        result["requiredExtraSignatories"] = [h.payload.hex() for h in body.required_signers]
    if body.script_data_hash is not None:
        result["scriptIntegrityHash"] = body.script_data_hash.payload.hex()
    metadata = _metadata(cbor)
    if metadata is not None:
        result["metadata"] = metadata
    return result


def _metadata(cbor: bytes) -> dict[str, Any] | None:
    """cardano.json ``Metadata``: each label as its CBOR (always faithful; Ogmios' default
    when a metadatum has no plain JSON form)."""
    import cbor2

    from runner.devnet.servers.kupo.metadata import transaction_metadata

    found = transaction_metadata(cbor)
    if found is None:
        return None
    labels = cbor2.loads(bytes.fromhex(found["raw"]))
    if isinstance(labels, cbor2.CBORTag):
        labels = labels.value.get(0, {})
    elif isinstance(labels, list):
        labels = labels[0]
    return {"hash": found["hash"],
            "labels": {str(label): {"cbor": cbor2.dumps(value).hex()} for label, value in labels.items()}}


def _validity(start: int | None, ttl: int | None) -> dict[str, int]:
    interval = {}
    if start is not None:
        interval["invalidBefore"] = int(start)
    if ttl is not None:
        interval["invalidAfter"] = int(ttl)
    return interval
