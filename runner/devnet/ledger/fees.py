"""Conway fee, min-UTxO and script-integrity arithmetic, with exact rationals.

Same formulas as cardano-ledger (Conway):
- min fee = size * a + b + ceiling(mem * priceMem + steps * priceSteps) + refScriptFee,
  where refScriptFee is tiered: 25 KiB tiers, the per-byte price multiplied by 1.2 for
  each full tier, floored at the end;
- min UTxO = (160 + serialized output size) * coinsPerUTxOByte;
- script integrity = blake2b-256(redeemers bytes | datums bytes | language views), with
  the language views of the Plutus languages the transaction needs (V1 double-encoded).
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import cbor2
from pycardano import Transaction, TransactionOutput

from runner.devnet.ledger.params import (
    REF_SCRIPT_TIER_BYTES,
    REF_SCRIPT_TIER_MULTIPLIER,
    LedgerParams,
)

UTXO_ENTRY_OVERHEAD = 160

LANGUAGE_IDS = {"PlutusV1": 0, "PlutusV2": 1, "PlutusV3": 2}


def reference_script_fee(params: LedgerParams, size: int) -> int:
    acc = Fraction(0)
    price = Fraction(params.min_fee_ref_script_cost_per_byte)
    remaining = size
    while remaining >= REF_SCRIPT_TIER_BYTES:
        acc += REF_SCRIPT_TIER_BYTES * price
        price *= REF_SCRIPT_TIER_MULTIPLIER
        remaining -= REF_SCRIPT_TIER_BYTES
    return math.floor(acc + remaining * price)


def script_execution_fee(params: LedgerParams, mem: int, steps: int) -> int:
    return math.ceil(params.price_mem * mem + params.price_step * steps)


def min_fee(params: LedgerParams, tx_size: int, mem: int = 0, steps: int = 0, ref_script_size: int = 0) -> int:
    return (
        tx_size * params.min_fee_a
        + params.min_fee_b
        + script_execution_fee(params, mem, steps)
        + reference_script_fee(params, ref_script_size)
    )


def ledger_size(tx: Transaction) -> int:
    """The size the ledger charges for and limits: the serialized transaction without its
    is_valid flag (cardano-ledger measures [body, witnesses, auxiliary data])."""
    from runner.devnet.ledger.cbor import tx_spans

    return tx_spans(bytes(tx.to_cbor())).ledger_size


def min_utxo(params: LedgerParams, output: TransactionOutput) -> int:
    return (UTXO_ENTRY_OVERHEAD + len(output.to_cbor())) * params.coins_per_utxo_byte


def language_views(params: LedgerParams, languages: set[str]) -> bytes:
    """CBOR of the language views map, canonically ordered (as the ledger hashes it)."""
    views: dict[object, object] = {}
    for language in languages:
        model = list(params.cost_models.get(language, ()))
        if language == "PlutusV1":
            indefinite = b"\x9f" + b"".join(cbor2.dumps(x) for x in model) + b"\xff"
            views[cbor2.dumps(0)] = indefinite
        else:
            views[LANGUAGE_IDS[language]] = model
    return cbor2.dumps(views, canonical=True)


def script_integrity_hash(
    params: LedgerParams,
    redeemers_raw: bytes | None,
    datums_raw: bytes | None,
    languages: set[str],
    has_redeemers: bool,
) -> bytes | None:
    """The script-data hash a transaction must declare, or None if it must declare none."""
    if not has_redeemers and not datums_raw and not languages:
        return None
    material = (
        (redeemers_raw if has_redeemers and redeemers_raw else b"\xa0")
        + (datums_raw or b"")
        + language_views(params, languages)
    )
    return hashlib.blake2b(material, digest_size=32).digest()
