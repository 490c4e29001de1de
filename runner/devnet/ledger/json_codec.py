"""Ogmios v6 JSON shapes of ledger objects (cardano.json definitions).

Rejections carry Ogmios-shaped ``data`` so the devnet's Ogmios server passes them
through unchanged; UTxO files use the ``queryLedgerState/utxo`` result shape. One
module owns both directions so they cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cbor2
from pycardano import (
    Address,
    Asset,
    AssetName,
    DatumHash,
    InvalidBefore,
    InvalidHereAfter,
    MultiAsset,
    NativeScript,
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    RawCBOR,
    RedeemerTag,
    ScriptAll,
    ScriptAny,
    ScriptHash,
    ScriptNofK,
    ScriptPubkey,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    Value,
    VerificationKeyHash,
)
from pycardano.serialization import default_encoder

from runner.errors import UserInputError

PURPOSES = {
    RedeemerTag.SPEND: "spend",
    RedeemerTag.MINT: "mint",
    RedeemerTag.CERTIFICATE: "publish",
    RedeemerTag.WITHDRAWAL: "withdraw",
    RedeemerTag.VOTING: "vote",
    RedeemerTag.PROPOSING: "propose",
}

PLUTUS_LANGUAGES: dict[type, str] = {
    PlutusV1Script: "plutus:v1",
    PlutusV2Script: "plutus:v2",
    PlutusV3Script: "plutus:v3",
}


def ada(lovelace: int) -> dict[str, Any]:
    return {"ada": {"lovelace": int(lovelace)}}


def output_reference(ref: TransactionInput) -> dict[str, Any]:
    return {"transaction": {"id": ref.transaction_id.payload.hex()}, "index": ref.index}


def output_references(refs: Iterable[TransactionInput]) -> list[dict[str, Any]]:
    return [output_reference(r) for r in sorted(refs, key=input_sort_key)]


def input_sort_key(ref: TransactionInput) -> tuple[bytes, int]:
    """The ledger's order of inputs (tx id bytes, then index): spend redeemer indices."""
    return (ref.transaction_id.payload, ref.index)


def value(amount: Value | int) -> dict[str, Any]:
    if isinstance(amount, int):
        return ada(amount)
    out = ada(amount.coin)
    for policy, assets in sorted(amount.multi_asset.items(), key=lambda kv: kv[0].payload):
        out[policy.payload.hex()] = {
            name.payload.hex(): int(qty) for name, qty in sorted(assets.items(), key=lambda kv: kv[0].payload)
        }
    return out


def datum_cbor(datum: Any) -> bytes:
    if isinstance(datum, RawCBOR):
        return bytes(datum.cbor)
    if hasattr(datum, "to_cbor"):
        return bytes(datum.to_cbor())
    return cbor2.dumps(datum, default=default_encoder)


def native_script(script: NativeScript) -> dict[str, Any]:
    if isinstance(script, ScriptPubkey):
        return {"clause": "signature", "from": script.key_hash.payload.hex()}
    if isinstance(script, ScriptAll):
        return {"clause": "all", "from": [native_script(s) for s in script.native_scripts]}
    if isinstance(script, ScriptAny):
        return {"clause": "any", "from": [native_script(s) for s in script.native_scripts]}
    if isinstance(script, ScriptNofK):
        return {"clause": "some", "atLeast": script.n, "from": [native_script(s) for s in script.native_scripts]}
    if isinstance(script, InvalidBefore):
        return {"clause": "after", "slot": script.before}
    if isinstance(script, InvalidHereAfter):
        return {"clause": "before", "slot": script.after}
    raise TypeError(f"unknown native script {type(script).__name__}")


def native_script_from_json(raw: dict[str, Any]) -> NativeScript:
    clause = raw["clause"]
    if clause == "signature":
        return ScriptPubkey(VerificationKeyHash(bytes.fromhex(raw["from"])))
    if clause in ("all", "any", "some"):
        subs = [native_script_from_json(s) for s in raw["from"]]
        if clause == "all":
            return ScriptAll(subs)
        if clause == "any":
            return ScriptAny(subs)
        return ScriptNofK(int(raw["atLeast"]), subs)
    if clause == "after":
        return InvalidBefore(int(raw["slot"]))
    if clause == "before":
        return InvalidHereAfter(int(raw["slot"]))
    raise ValueError(f"unknown native script clause {clause!r}")


def script(item: Any) -> dict[str, Any]:
    if isinstance(item, NativeScript):
        return {"language": "native", "json": native_script(item), "cbor": item.to_cbor_hex()}
    return {"language": PLUTUS_LANGUAGES[type(item)], "cbor": bytes(item).hex()}


def script_from_json(raw: dict[str, Any]) -> Any:
    language = raw["language"]
    if language == "native":
        if "cbor" in raw:
            return NativeScript.from_cbor(bytes.fromhex(raw["cbor"]))
        return native_script_from_json(raw["json"])
    for cls, name in PLUTUS_LANGUAGES.items():
        if name == language:
            return cls(bytes.fromhex(raw["cbor"]))
    raise ValueError(f"unknown script language {language!r}")


def output(out: TransactionOutput) -> dict[str, Any]:
    result: dict[str, Any] = {"address": str(out.address), "value": value(out.amount)}
    if out.datum_hash is not None:
        result["datumHash"] = out.datum_hash.payload.hex()
    if out.datum is not None:
        result["datum"] = datum_cbor(out.datum).hex()
    if out.script is not None:
        result["script"] = script(out.script)
    return result


def utxo_entry(ref: TransactionInput, out: TransactionOutput) -> dict[str, Any]:
    """One entry of a ``queryLedgerState/utxo`` result."""
    return {**output_reference(ref), **output(out)}


def value_from_json(raw: dict[str, Any]) -> Value:
    coin = int(raw.get("ada", {}).get("lovelace", 0))
    multi = MultiAsset()
    for policy, assets in raw.items():
        if policy == "ada":
            continue
        multi[ScriptHash(bytes.fromhex(policy))] = Asset(
            {AssetName(bytes.fromhex(name)): int(qty) for name, qty in assets.items()}
        )
    return Value(coin, multi)


def utxo_from_json(raw: dict[str, Any]) -> tuple[TransactionInput, TransactionOutput]:
    """Inverse of :func:`utxo_entry` (the shape Ogmios and the devnet's files use)."""
    ref = TransactionInput(TransactionId(bytes.fromhex(raw["transaction"]["id"])), int(raw["index"]))
    datum = RawCBOR(bytes.fromhex(raw["datum"])) if raw.get("datum") else None
    datum_hash = DatumHash(bytes.fromhex(raw["datumHash"])) if raw.get("datumHash") and not datum else None
    out = TransactionOutput(
        Address.from_primitive(raw["address"]),
        value_from_json(raw["value"]),
        datum_hash=datum_hash,
        datum=datum,
        script=script_from_json(raw["script"]) if raw.get("script") else None,
        post_alonzo=bool(datum or raw.get("script")),
    )
    # Through CBOR once, so the output equals what the ledger itself decodes from a tx.
    return ref, TransactionOutput.from_cbor(out.to_cbor())


def redeemer_pointer(tag: RedeemerTag, index: int) -> dict[str, Any]:
    return {"purpose": PURPOSES[tag], "index": index}


def read_utxo_file(path: str | Path) -> list[tuple[TransactionInput, TransactionOutput]]:
    """An Ogmios ``queryLedgerState/utxo`` result (a JSON list, or ``{"result": [...]}``)."""
    hint = "give a JSON list of Ogmios UTxO entries ({transaction:{id}, index, address, value, ...})"
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserInputError(f"cannot read the UTxO file: {exc.strerror or exc}", location=str(path),
                             hint=hint) from exc
    except UnicodeDecodeError as exc:
        raise UserInputError(f"the UTxO file is not UTF-8 text (byte {exc.start})", location=str(path),
                             hint=hint) from exc
    except ValueError as exc:
        raise UserInputError(f"the UTxO file is not JSON: {exc}", location=str(path), hint=hint) from exc
    entries = raw.get("result") if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise UserInputError("the UTxO file holds no list of entries", location=str(path), hint=hint)
    utxo = []
    for i, entry in enumerate(entries):
        try:
            utxo.append(utxo_from_json(entry))
        except Exception as exc:  # pycardano raises many kinds on a malformed entry
            raise UserInputError(f"entry {i} is not an Ogmios UTxO entry: {type(exc).__name__}: {exc}",
                                 location=f"{path}: [{i}]", hint=hint) from exc
    return utxo
