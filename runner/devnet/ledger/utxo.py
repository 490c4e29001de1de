"""The UTxO set with an index by address.

Kupo's ``/matches/{address}`` and pycardano's ``utxos(address)`` ask for one address at
a time; a scan of the whole set with a bech32 encoding per output would make every such
query O(size of the chain). The index keeps it O(outputs at that address).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pycardano import Address, TransactionInput, TransactionOutput
from pycardano.exception import PyCardanoException

from runner.errors import UserInputError


def address_key(address: Address | str) -> bytes:
    if isinstance(address, Address):
        return bytes(address.to_primitive())
    try:
        return bytes(Address.from_primitive(address).to_primitive())
    except (PyCardanoException, ValueError, TypeError) as exc:
        raise UserInputError(f"not a Cardano address: {address!r}",
                             hint="give a bech32 address (addr_test1...) or a pycardano Address") from exc


class UtxoSet(Mapping[TransactionInput, TransactionOutput]):
    """A read-only Mapping for the rules; ``add``/``pop`` keep the address index in step."""

    def __init__(self, entries: Mapping[TransactionInput, TransactionOutput] | None = None) -> None:
        self._outputs: dict[TransactionInput, TransactionOutput] = {}
        #: serialized outputs (as submitted, when known): persistence never re-encodes
        self._raw: dict[TransactionInput, bytes | None] = {}
        self._by_address: dict[bytes, dict[TransactionInput, None]] = {}
        #: references added or removed since the last journal record (None: not journalled)
        self.dirty: dict[TransactionInput, None] | None = None
        for ref, out in (entries or {}).items():
            self.add(ref, out)

    def __getitem__(self, ref: TransactionInput) -> TransactionOutput:
        return self._outputs[ref]

    def __iter__(self) -> Iterator[TransactionInput]:
        return iter(self._outputs)

    def __len__(self) -> int:
        return len(self._outputs)

    def __contains__(self, ref: object) -> bool:
        return ref in self._outputs

    def add(self, ref: TransactionInput, out: TransactionOutput, raw: bytes | None = None) -> None:
        self._outputs[ref] = out
        self._raw[ref] = raw
        if self.dirty is not None:
            self.dirty[ref] = None
        self._by_address.setdefault(address_key(out.address), {})[ref] = None

    def raw(self, ref: TransactionInput) -> bytes:
        """The output's CBOR: the submitted bytes, or pycardano's encoding (computed once)."""
        raw = self._raw[ref]
        if raw is None:
            raw = self._raw[ref] = bytes(self._outputs[ref].to_cbor())
        return raw

    def raw_items(self) -> Iterator[tuple[TransactionInput, bytes]]:
        """(reference, output CBOR) for every entry, without re-hashing references
        (pycardano hashes a TransactionInput through its hex text: slow in bulk)."""
        for ref, raw in list(self._raw.items()):
            if raw is None:
                raw = self._raw[ref] = bytes(self._outputs[ref].to_cbor())
            yield ref, raw

    def pop_with_raw(self, ref: TransactionInput) -> tuple[TransactionOutput, bytes]:
        raw = self.raw(ref)
        return self.pop(ref), raw

    def pop(self, ref: TransactionInput) -> TransactionOutput:
        self._raw.pop(ref, None)
        out = self._outputs.pop(ref)
        if self.dirty is not None:
            self.dirty[ref] = None
        key = address_key(out.address)
        refs = self._by_address[key]
        del refs[ref]
        if not refs:
            del self._by_address[key]
        return out

    def at(self, address: Address | str) -> list[tuple[TransactionInput, TransactionOutput]]:
        refs = self._by_address.get(address_key(address), {})
        return [(ref, self._outputs[ref]) for ref in refs]
