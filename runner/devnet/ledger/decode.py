"""Conway CDDL constraints a node enforces while *decoding* a transaction.

cardano-ledger refuses these before any ledger rule runs (the submission never reaches
the mempool rules), so the devnet answers them as Ogmios does for undecodable CBOR:
``-32602`` (``DeserialisationFailure``). pycardano decodes far more leniently (a set
with a repeated element, a negative token quantity, a reward address as an output
address), so the checks read the submitted bytes themselves (``ledger.cbor`` spans):

- sets hold no element twice (inputs, collateral, reference inputs, required signers,
  certificates, proposals; the Plutus V1/V2/V3 scripts of the witness set), compared by
  decoded value. Not the witness set's vkey witnesses, native scripts, bootstrap
  witnesses and datums: before protocol version 12 the ledger decodes those leniently
  (a repeat is dropped; cardano-ledger issue #4698, PR #5908), and so does the devnet;
- optional body sets and maps are non-empty when present (certificates, withdrawals,
  mint, collateral, required signers, reference inputs, votes, proposals);
- maps repeat no key (the body, the witness set, withdrawals, multi-asset maps);
- coins are unsigned 64-bit integers (fee, output coins, withdrawals, total collateral),
  the donation is positive;
- output token quantities are positive, mint quantities non-zero 64-bit integers, and
  no policy maps to an empty asset map;
- an output address is a payment address (a reward address is not one);
- no genesis-delegation or MIR certificate (the Conway decoder fails on them);
- Plutus data (witness datums, redeemers, inline datums) holds no byte string longer
  than 64 bytes (longer ones are written as chunks of at most 64: Plutus' BoundedBytes).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import cbor2

from runner.devnet.ledger.cbor import (
    CborSpanError,
    TxSpans,
    container_items,
    deserialisation_error,
    longest_byte_string,
    map_items,
)

MAX_WORD64 = 2**64 - 1
INT64_RANGE = range(-(2**63), 2**63)

#: body fields encoded as sets (tag 258 optional): no element may repeat
BODY_SETS = {0: "inputs", 4: "certificates", 13: "collateral inputs", 14: "required signers",
             18: "reference inputs", 20: "proposal procedures"}
#: optional body fields that must not be empty when present
BODY_NON_EMPTY = {4: "certificates", 5: "withdrawals", 9: "mint", 13: "collateral inputs",
                  14: "required signers", 18: "reference inputs", 19: "voting procedures",
                  20: "proposal procedures"}
#: certificate kinds the Conway decoder refuses outright
RETIRED_CERTIFICATES = {5: "genesis key delegation", 6: "MIR (move instantaneous rewards)"}
BODY_COINS = {2: "fee", 17: "total collateral", 21: "current treasury value"}
#: witness-set fields decoded strictly in Conway (cardano-ledger's scriptDecoderV9)
WITNESS_SETS = {3: "Plutus V1 scripts", 6: "Plutus V2 scripts", 7: "Plutus V3 scripts"}
#: witness-set fields that hold Plutus data
WITNESS_DATA = {4: "datums", 5: "redeemers"}
MAX_DATA_BYTES = 64
HINT = ("a Cardano node would not even decode this transaction: fix the field named in the "
        "message where the transaction is built (sets without repeats, positive amounts)")


class Malformed(ValueError):
    """One CDDL constraint broken; the message says where."""


def check_wellformed(spans: TxSpans) -> None:
    """Raise the ``-32602`` rejection a node gives when the transaction does not decode."""
    try:
        _check_body(spans.body)
        _check_witness_set(spans.witness_set)
    except Malformed as exc:
        raise deserialisation_error(str(exc), HINT) from exc
    except (CborSpanError, IndexError, KeyError, ValueError, TypeError, cbor2.CBORDecodeError) as exc:
        raise deserialisation_error(f"malformed transaction body or witness set: {exc}") from exc


def _check_body(raw_body: bytes) -> None:
    fields = _unique_map(raw_body, "transaction body")
    for key, name in BODY_NON_EMPTY.items():
        if key in fields and _is_empty(fields[key]):
            raise Malformed(f"transaction body field {key} ({name}) is present but empty")
    for key, name in BODY_SETS.items():
        if key in fields:
            _unique_elements(fields[key], f"transaction body field {key} ({name})")
    for index, cert in enumerate(container_items(fields[4]) if 4 in fields else []):
        kind = cbor2.loads(cert)[0]
        if kind in RETIRED_CERTIFICATES:
            raise Malformed(f"certificate #{index}: {RETIRED_CERTIFICATES[kind]} certificates are no longer "
                            "supported (Conway)")
    for key, name in BODY_COINS.items():
        if key in fields:
            _coin(fields[key], f"transaction body field {key} ({name})")
    if 22 in fields and _coin(fields[22], "transaction body field 22 (donation)") == 0:
        raise Malformed("transaction body field 22 (donation) must be positive")
    if 5 in fields:
        for account, amount in _unique_map(fields[5], "withdrawals").items():
            _coin(amount, f"withdrawal from {_show(account)}")
    if 9 in fields:
        _multi_asset(fields[9], "mint", _non_zero_int64)
    outputs = container_items(fields[1]) if 1 in fields else []
    for i, out in enumerate(outputs):
        _output(out, f"output #{i}")
    if 16 in fields:
        _output(fields[16], "collateral return")


def _check_witness_set(raw_witnesses: bytes) -> None:
    fields = _unique_map(raw_witnesses, "witness set")
    for key, name in WITNESS_SETS.items():
        if key in fields:
            _unique_elements(fields[key], f"witness set field {key} ({name})")
    for key, name in WITNESS_DATA.items():
        if key in fields:
            _bounded_bytes(fields[key], f"witness set field {key} ({name})")


def _bounded_bytes(raw_data: bytes, where: str) -> None:
    longest, _ = longest_byte_string(raw_data)
    if longest > MAX_DATA_BYTES:
        raise Malformed(f"{where}: Plutus data holds a {longest}-byte string; byte strings longer than "
                        f"{MAX_DATA_BYTES} bytes must be written as chunks of at most {MAX_DATA_BYTES}")


def _inline_datum(raw_output_map: dict[Any, bytes], where: str) -> None:
    """An output's inline datum ([1, #6.24(bytes .cbor plutus_data)]) is Plutus data too."""
    if 2 not in raw_output_map:
        return
    option = cbor2.loads(raw_output_map[2])
    if isinstance(option, list) and option and option[0] == 1:
        payload = option[1].value if isinstance(option[1], cbor2.CBORTag) else option[1]
        _bounded_bytes(bytes(payload), f"{where} inline datum")


def _output(raw: bytes, where: str) -> None:
    major = raw[0] >> 5
    if major == 4:
        items = container_items(raw)
        address, value = items[0], items[1]
    else:
        fields = _unique_map(raw, where)
        address, value = fields[0], fields[1]
        _inline_datum(fields, where)
    _payment_address(cbor2.loads(address), where)
    if value[0] >> 5 == 4:
        coin, assets = container_items(value)
        _coin(coin, f"{where} coin")
        _multi_asset(assets, f"{where} value", _positive_quantity)
    else:
        _coin(value, f"{where} coin")


def _payment_address(address: Any, where: str) -> None:
    if not isinstance(address, bytes) or not address:
        raise Malformed(f"{where}: the address is not a byte string")
    kind = address[0] >> 4
    if kind in (0xE, 0xF):
        raise Malformed(f"{where}: a reward (stake) address cannot hold outputs; "
                        "pay to a payment address (addr...) instead")
    if kind > 8:
        raise Malformed(f"{where}: unknown address header {address[0]:#04x}")


def _multi_asset(raw: bytes, where: str, quantity: Callable[[bytes, str], int]) -> None:
    for policy, assets in _unique_map(raw, where).items():
        policy_hex = _show(policy)
        entries = _unique_map(assets, f"{where}, policy {policy_hex}")
        if not entries:
            raise Malformed(f"{where}: policy {policy_hex} has an empty asset map")
        for name, amount in entries.items():
            quantity(amount, f"{where}, asset {policy_hex}.{_show(name)}")


def _positive_quantity(raw: bytes, where: str) -> int:
    value = cbor2.loads(raw)
    if raw[0] >> 5 != 0 or not isinstance(value, int) or not 0 < value <= MAX_WORD64:
        raise Malformed(f"{where}: a token quantity in an output must be positive, got {value!r}")
    return value


def _non_zero_int64(raw: bytes, where: str) -> int:
    value = cbor2.loads(raw)
    if raw[0] >> 5 not in (0, 1) or value not in INT64_RANGE:
        raise Malformed(f"{where}: a mint quantity is a 64-bit integer, got {value!r}")
    if value == 0:
        raise Malformed(f"{where}: a mint quantity must be non-zero")
    return int(value)


def _coin(raw: bytes, where: str) -> int:
    """An unsigned 64-bit integer (CBOR major type 0)."""
    value = cbor2.loads(raw)
    if raw[0] >> 5 != 0 or not isinstance(value, int) or value > MAX_WORD64:
        raise Malformed(f"{where}: expected an unsigned 64-bit amount, got {value!r}")
    return value


def _is_empty(raw: bytes) -> bool:
    if raw[0] >> 5 == 5:
        return not map_items(raw)
    return not container_items(raw)


def _unique_map(raw: bytes, where: str) -> dict[Any, bytes]:
    """Map entries by decoded key; a repeated key is malformed (Conway decodes maps strictly)."""
    out: dict[Any, bytes] = {}
    for key_raw, value_raw in map_items(raw):
        key = _frozen(cbor2.loads(key_raw))
        if key in out:
            raise Malformed(f"{where}: key {_show(key)} appears twice")
        out[key] = value_raw
    return out


def _unique_elements(raw: bytes, where: str) -> None:
    seen: set[Hashable] = set()
    for item in container_items(raw):
        element = _frozen(cbor2.loads(item))
        if element in seen:
            raise Malformed(f"{where}: element {_show(element)} appears twice (a set holds each element once)")
        seen.add(element)


def _frozen(value: Any) -> Hashable:
    """A decoded CBOR value as a hashable, comparable key."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return frozenset((_frozen(k), _frozen(v)) for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return frozenset(_frozen(v) for v in value)
    if isinstance(value, cbor2.CBORTag):
        return ("tag", value.tag, _frozen(value.value))
    if isinstance(value, bool):
        return ("bool", value)
    return value  # type: ignore[no-any-return]


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)
