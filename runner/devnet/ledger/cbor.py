"""Original byte spans of a serialized transaction.

The ledger hashes what was *sent*, not a re-encoding: the transaction id is the hash of
the body bytes as submitted, the script-data hash covers the redeemer and datum bytes
as submitted, a datum's hash is the hash of its own bytes. pycardano re-encodes when it
serializes, which can differ (indefinite lists, map order, set tags). So the devnet
reads those spans out of the original CBOR with this small item walker.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.errors import LedgerRejection


class CborSpanError(ValueError):
    """The bytes are not one well-formed CBOR item."""


def _head(buf: bytes, pos: int) -> tuple[int, int, int, bool]:
    """(major type, argument, position after the head, indefinite?)"""
    if pos >= len(buf):
        raise CborSpanError("truncated CBOR")
    ib = buf[pos]
    major, ai = ib >> 5, ib & 31
    pos += 1
    if ai < 24:
        return major, ai, pos, False
    if ai == 31:
        return major, 0, pos, True
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(ai)
    if width is None or pos + width > len(buf):
        raise CborSpanError(f"bad CBOR head byte {ib:#x} at {pos - 1}")
    return major, int.from_bytes(buf[pos : pos + width], "big"), pos + width, False


def item_end(buf: bytes, pos: int) -> int:
    """Position just after the CBOR item starting at ``pos``."""
    major, arg, pos, indefinite = _head(buf, pos)
    if major in (0, 1, 7):
        return pos
    if major in (2, 3):
        if not indefinite:
            return pos + arg
        while buf[pos] != 0xFF:
            pos = item_end(buf, pos)
        return pos + 1
    if major == 6:
        return item_end(buf, pos)
    per_entry = 2 if major == 5 else 1
    if indefinite:
        while pos < len(buf) and buf[pos] != 0xFF:
            pos = item_end(buf, pos)
        return pos + 1
    for _ in range(arg * per_entry):
        pos = item_end(buf, pos)
    return pos


def longest_byte_string(buf: bytes, pos: int = 0) -> tuple[int, int]:
    """(length of the longest definite byte string or chunk in the item at ``pos``, end)."""
    major, arg, pos, indefinite = _head(buf, pos)
    if major in (0, 1, 7):
        return 0, pos
    if major in (2, 3) and not indefinite:
        return (arg if major == 2 else 0), pos + arg
    if major == 6:
        return longest_byte_string(buf, pos)
    longest, count, per_entry = 0, 0, 2 if major == 5 else 1
    while (indefinite and buf[pos] != 0xFF) or (not indefinite and count < arg * per_entry):
        length, pos = longest_byte_string(buf, pos)
        longest, count = max(longest, length), count + 1
    return longest, pos + 1 if indefinite else pos


def container_items(buf: bytes) -> list[bytes]:
    """The raw items of an array (optionally tagged 258, as Conway sets are)."""
    major, arg, pos, indefinite = _head(buf, 0)
    if major == 6:
        major, arg, pos, indefinite = _head(buf, pos)
    if major != 4:
        raise CborSpanError("expected an array")
    items: list[bytes] = []
    while (indefinite and buf[pos] != 0xFF) or (not indefinite and len(items) < arg):
        end = item_end(buf, pos)
        items.append(buf[pos:end])
        pos = end
    return items


def map_entries(buf: bytes) -> dict[int, bytes]:
    """Integer-keyed map -> raw value bytes (the shape of bodies and witness sets)."""
    major, arg, pos, indefinite = _head(buf, 0)
    if major != 5:
        raise CborSpanError("expected a map")
    out: dict[int, bytes] = {}
    count = 0
    while (indefinite and buf[pos] != 0xFF) or (not indefinite and count < arg):
        kmajor, key, kend, _ = _head(buf, pos)
        if kmajor != 0:
            raise CborSpanError("expected an unsigned integer map key")
        vend = item_end(buf, kend)
        out[key] = buf[kend:vend]
        pos, count = vend, count + 1
    return out


def map_items(buf: bytes) -> list[tuple[bytes, bytes]]:
    """The raw (key, value) pairs of a map, in the submitted order (duplicates kept)."""
    major, arg, pos, indefinite = _head(buf, 0)
    if major != 5:
        raise CborSpanError("expected a map")
    items: list[tuple[bytes, bytes]] = []
    while (indefinite and buf[pos] != 0xFF) or (not indefinite and len(items) < arg):
        kend = item_end(buf, pos)
        vend = item_end(buf, kend)
        items.append((buf[pos:kend], buf[kend:vend]))
        pos = vend
    return items


def output_value(raw_output: bytes) -> bytes:
    """The value field of a serialized output (legacy array or post-Alonzo map form)."""
    major = raw_output[0] >> 5
    if major == 4:
        return container_items(raw_output)[1]
    return map_entries(raw_output)[1]


@dataclass(frozen=True)
class TxSpans:
    """The submitted bytes of a transaction and of the parts the ledger hashes."""

    raw: bytes
    body: bytes
    witness_set: bytes
    auxiliary_data: bytes | None
    redeemers: bytes | None
    datums: bytes | None
    datum_items: tuple[bytes, ...]
    #: body outputs, then the collateral return if any (their min-UTxO and value sizes)
    outputs: tuple[bytes, ...] = ()
    #: the size the ledger charges and limits: the transaction without its is_valid flag
    #: (cardano-ledger's size of [body, witnesses, auxiliary data], one byte less)
    ledger_size: int = 0


def tx_spans(raw: bytes) -> TxSpans:
    """Split a serialized Conway transaction; a malformed one is a deserialisation error."""
    try:
        major, arg, pos, indefinite = _head(raw, 0)
        if major != 4 or indefinite or arg not in (3, 4):
            raise CborSpanError("a transaction is a 4-element array")
        bounds = []
        for _ in range(arg):
            end = item_end(raw, pos)
            bounds.append((pos, end))
            pos = end
        if pos != len(raw):
            raise CborSpanError(f"{len(raw) - pos} trailing bytes after the transaction")
        body = raw[bounds[0][0] : bounds[0][1]]
        wits = raw[bounds[1][0] : bounds[1][1]]
        aux = raw[bounds[-1][0] : bounds[-1][1]] if arg == 4 else None
        entries = map_entries(wits)
        body_entries = map_entries(body)
        outputs = container_items(body_entries[1]) if 1 in body_entries else []
        if 16 in body_entries:
            outputs.append(body_entries[16])
        datums = entries.get(4)
        return TxSpans(
            raw=raw,
            body=body,
            witness_set=wits,
            auxiliary_data=None if aux in (None, b"\xf6") else aux,
            redeemers=entries.get(5),
            datums=datums,
            datum_items=tuple(container_items(datums)) if datums else (),
            outputs=tuple(outputs),
            ledger_size=len(raw) - (bounds[2][1] - bounds[2][0] if arg == 4 else 0),
        )
    except (CborSpanError, IndexError) as exc:
        raise deserialisation_error(str(exc)) from exc


def deserialisation_error(reason: str, hint: str | None = None) -> LedgerRejection:
    """Ogmios' DeserialisationFailure (-32602), which names each era it tried."""
    eras = ("shelley", "allegra", "mary", "alonzo", "babbage", "conway")
    return LedgerRejection(
        f"the transaction is not valid Conway CBOR: {reason}",
        ogmios_code=-32602,
        data={era: reason for era in eras},
        hint=hint or "submit the hex/bytes of a signed transaction (tx.to_cbor()), not a body",
    )
