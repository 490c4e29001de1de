"""Value arithmetic of the builder without pycardano's slow paths (pure).

pycardano serialises and does ``Value`` arithmetic with run-time type checks and deep
copies; the builder does both hundreds of times per release draft.  These compute the
same results (property tests: tests/contract/test_contract_min_lovelace.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pycardano as pc


def cbor_uint_size(n: int) -> int:
    """Bytes of a non-negative integer in canonical CBOR (head byte + argument)."""
    return 1 if n < 24 else 2 if n < 0x100 else 3 if n < 0x10000 else 5 if n < 0x1_0000_0000 else 9


def min_lovelace(params: pc.ProtocolParameters, output: pc.TransactionOutput) -> int:
    """Conway min-UTxO: (160 + serialized size) * coinsPerUTxOByte, iterated on the coin.

    Serialised once: the coin appears once in an output's CBOR, as an unsigned integer
    (alone, or first in ``[coin, assets]``), so changing it changes only that integer's
    length (:func:`cbor_uint_size`); the rest of the output is the same bytes."""
    coin = output.amount.coin
    rest = len(output.to_cbor()) - cbor_uint_size(coin)
    per_byte = int(params.coins_per_utxo_byte)
    for _ in range(4):
        need = (160 + rest + cbor_uint_size(coin)) * per_byte
        if coin >= need:
            return need
        coin = need
    return (160 + rest + cbor_uint_size(coin)) * per_byte


def balance(coin: int, mint: pc.MultiAsset | None, plus: Sequence[pc.Value], minus: Sequence[pc.Value]
            ) -> pc.Value:
    """``Value(coin, mint) + plus[0] + ... - minus[0] - ...`` as pycardano computes it (a zero
    quantity dropped after each step, so the assets come out in the same order), on plain
    dicts: pycardano's ``Value`` arithmetic deep-copies and type-checks at every step, ~150
    times per draft of a full release."""
    assets: dict[Any, dict[Any, int]] = {p: dict(names) for p, names in (mint or {}).items()}
    steps = [(v, 1) for v in plus] + [(v, -1) for v in minus]
    for value, sign in steps:
        coin += sign * value.coin
        if not value.multi_asset and all(all(names.values()) for names in assets.values()):
            continue  # nothing to add and nothing to drop
        for policy, names in value.multi_asset.items():
            held = assets.setdefault(policy, {})
            for name, quantity in names.items():
                held[name] = held.get(name, 0) + sign * quantity
        for policy in list(assets):
            kept = {n: q for n, q in assets[policy].items() if q != 0}
            if kept:
                assets[policy] = kept
            else:
                del assets[policy]
    return pc.Value(coin, pc.MultiAsset({p: pc.Asset(names) for p, names in assets.items()}))


__all__ = ["balance", "cbor_uint_size", "min_lovelace"]
