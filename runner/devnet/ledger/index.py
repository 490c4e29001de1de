"""Datum and script indexes of everything the devnet has seen (what Kupo's /datums and
/scripts serve): witness datums, inline datums, witness scripts and reference scripts.

Like Kupo, the indexes only grow: a rollback does not forget a datum, since its hash
still names the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pycardano import NativeScript, TransactionOutput, script_hash

from runner.devnet.ledger import json_codec as js
from runner.devnet.ledger.types import ParsedTx


def script_entry(script: Any) -> tuple[str, bytes]:
    """(language, bytes) as Kupo and Ogmios name them: native CBOR, or the Plutus script bytes."""
    if isinstance(script, NativeScript):
        return "native", bytes(script.to_cbor())
    return js.PLUTUS_LANGUAGES[type(script)], bytes(script)


@dataclass
class ChainIndex:
    datums: dict[str, bytes] = field(default_factory=dict)
    scripts: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def add_output(self, out: TransactionOutput) -> None:
        if out.datum is not None:
            raw = js.datum_cbor(out.datum)
            self.datums[hashlib.blake2b(raw, digest_size=32).hexdigest()] = raw
        if out.script is not None:
            self.scripts[script_hash(out.script).payload.hex()] = script_entry(out.script)

    def add_witnesses(self, ptx: ParsedTx) -> None:
        for raw in ptx.spans.datum_items:
            self.datums[hashlib.blake2b(raw, digest_size=32).hexdigest()] = raw
        ws = ptx.tx.transaction_witness_set
        for group in (ws.native_scripts, ws.plutus_v1_script, ws.plutus_v2_script, ws.plutus_v3_script):
            for item in group or []:
                self.scripts[script_hash(item).payload.hex()] = script_entry(item)
