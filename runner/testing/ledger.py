"""Plain helpers for tests against the devnet :class:`~runner.devnet.ledger.ledger.Ledger`.

``HandTx`` builds transactions field by field with pycardano's plain
``TransactionBody``/``Transaction`` (no TransactionBuilder), balances them at the exact
minimum fee, signs them with the derived keys, and lets a test change any field
(``tweak``) to break exactly one rule. ``accepted``/``rejected`` submit and check the
outcome; ``assert_ogmios_shape`` checks a rejection against Ogmios' JSON schema (read
from ``shared/reference/ogmios`` beside the repository). No test framework is needed:
failed checks raise :class:`AssertionError`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from pycardano import (
    Address,
    CostModels,
    ExecutionUnits,
    MultiAsset,
    Network,
    PlutusV3Script,
    Redeemer,
    RedeemerTag,
    SigningKey,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    VerificationKeyWitness,
    plutus_script_hash,
)
from pycardano.utils import script_data_hash
from uplc.tools import flatten, parse

from runner.devnet import Ledger, Wallet
from runner.errors import LedgerRejection

__all__ = [
    "ALWAYS_FAILS",
    "ALWAYS_SUCCEEDS",
    "UNITS",
    "HandTx",
    "accepted",
    "assert_ogmios_shape",
    "ledger_size",
    "redeemer",
    "rejected",
    "same_state",
    "script_address",
    "spend",
]

ALWAYS_SUCCEEDS = PlutusV3Script(flatten(parse("(program 1.1.0 (lam ctx (con unit ())))")))
ALWAYS_FAILS = PlutusV3Script(flatten(parse("(program 1.1.0 (lam ctx (error)))")))
#: Generous declared budget for the tiny test scripts above.
UNITS = ExecutionUnits(mem=200_000, steps=100_000_000)


def ledger_size(tx: Transaction) -> int:
    """The size the ledger charges and limits: pycardano's encoding minus the is_valid flag
    (one byte: ``f5``/``f4``; the array header keeps its size from 4 to 3 elements)."""
    raw = bytes(tx.to_cbor())
    assert raw[0] == 0x84, "pycardano encodes [body, witnesses, is_valid, auxiliary data]"
    return len(raw) - 1


def script_address(script: PlutusV3Script) -> Address:
    return Address(plutus_script_hash(script), network=Network.TESTNET)


def redeemer(tag: RedeemerTag, index: int, data: Any = 0, units: ExecutionUnits = UNITS) -> Redeemer:
    r = Redeemer(data, units)
    r.tag, r.index = tag, index
    return r


class HandTx:
    """Hand-made transactions against one ledger (see the module docstring)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.params = ledger.params

    def w(self, name: str) -> Wallet:
        return self.ledger.wallet(name)

    def utxos(self, name: str) -> list[tuple[TransactionInput, TransactionOutput]]:
        """ADA-only UTxOs of a wallet, largest first (ties in reference order)."""
        found = [(r, o) for r, o in self.ledger.utxos_at(self.w(name).address) if not o.amount.multi_asset]
        return sorted(found, key=lambda ro: (-ro[1].amount.coin, ro[0].transaction_id.payload, ro[0].index))

    def min_fee(self, size: int, units: Sequence[ExecutionUnits] = (), ref_script_size: int = 0) -> int:
        """Independent re-statement of the Conway fee formula (not the ledger's code)."""
        p = self.params
        mem, steps = sum(u.mem for u in units), sum(u.steps for u in units)
        fee: int = size * p.min_fee_a + p.min_fee_b + math.ceil(p.price_mem * mem + p.price_step * steps)
        price, acc, rest = Fraction(p.min_fee_ref_script_cost_per_byte), Fraction(0), ref_script_size
        while rest >= 25600:
            acc, price, rest = acc + 25600 * price, price * Fraction(6, 5), rest - 25600
        return fee + math.floor(acc + rest * price)

    def build(
        self,
        inputs: Iterable[tuple[TransactionInput, TransactionOutput]],
        outputs: Sequence[TransactionOutput],
        signers: Sequence[Wallet | SigningKey],
        *,
        change_to: Address | None = None,
        adjust: int = 0,
        mint: MultiAsset | None = None,
        fee: int | None = None,
        ref_script_size: int = 0,
        witness: dict[str, Any] | None = None,
        integrity: bool = False,
        tweak: Callable[[TransactionBody], None] | None = None,
        **fields: Any,
    ) -> Transaction:
        """Balanced (change output last), at the exact min fee unless ``fee`` is given.

        ``adjust`` = withdrawals + refunds - deposits. ``integrity`` sets script_data_hash
        with pycardano's own function over the witness redeemers/datums and V3 cost model.
        """
        spent = list(inputs)
        witness = dict(witness or {})
        total = Value(adjust, mint or MultiAsset())
        for _, out in spent:
            total = total + out.amount
        for out in outputs:
            total = total - out.amount
        change_to = change_to or spent[0][1].address
        units = [r.ex_units for r in witness.get("redeemer") or []]
        current = fee if fee is not None else 0
        for _ in range(6):
            change = total - Value(current, MultiAsset())
            body = TransactionBody(inputs=[r for r, _ in spent], outputs=[*outputs, TransactionOutput(change_to, change)],
                                   fee=current, mint=mint, **fields)
            if integrity:
                body.script_data_hash = self.integrity_hash(witness)
            if tweak is not None:
                tweak(body)
            tx = self.sign(body, signers, **witness)
            needed = self.min_fee(ledger_size(tx), units, ref_script_size)
            if fee is not None or current >= needed:
                return tx
            current = needed
        raise AssertionError("fee did not converge")

    def integrity_hash(self, witness: dict[str, Any]) -> Any:
        v3 = {f"{i:03d}": x for i, x in enumerate(self.params.cost_model("PlutusV3"))}
        return script_data_hash(witness.get("redeemer") or [], witness.get("plutus_data"), CostModels({2: v3}))

    @staticmethod
    def sign(body: TransactionBody, signers: Sequence[Wallet | SigningKey], **witness: Any) -> Transaction:
        keys = [s.signing_key if isinstance(s, Wallet) else s for s in signers]
        digest = body.hash()
        vkeys = [VerificationKeyWitness(k.to_verification_key(), k.sign(digest)) for k in keys]
        return Transaction(body, TransactionWitnessSet(vkey_witnesses=vkeys or None, **witness))

    def pay(self, sender: str = "alice", to: str = "bob", lovelace: int = 2_000_000, **kwargs: Any) -> Transaction:
        """A plain payment from the sender's first UTxO."""
        kwargs.setdefault("signers", [self.w(sender)])
        return self.build(self.utxos(sender)[:1], [TransactionOutput(self.w(to).address, lovelace)], **kwargs)

    def lock(self, script: PlutusV3Script, lovelace: int = 10_000_000, *, datum: Any = None,
             datum_hash: Any = None, script_ref: Any = None, owner: str = "alice") -> TransactionInput:
        """Submit a payment to the script's address; returns the locked output's reference."""
        out = TransactionOutput(script_address(script), lovelace, datum=datum, datum_hash=datum_hash,
                                script=script_ref)
        tx = self.build(self.utxos(owner)[:1], [out], [self.w(owner)])
        self.ledger.submit(tx)
        return TransactionInput(tx.id, 0)


# --- Ogmios error shapes ---------------------------------------------------------------

#: The repository root is the parent of the ``runner`` package; the schemas sit beside it.
_REPO_ROOT = Path(__file__).resolve().parents[2]
_OGMIOS_DIR = _REPO_ROOT.parent / "shared" / "reference" / "ogmios"
if not _OGMIOS_DIR.is_dir():  # the repository may be checked out elsewhere than beside shared/
    _OGMIOS_DIR = Path("/work/shared/reference/ogmios")


@functools.lru_cache(maxsize=1)
def _ogmios_registry() -> Any:
    from referencing import Registry, Resource

    schemas = {name: json.loads((_OGMIOS_DIR / name).read_text()) for name in ("ogmios.json", "cardano.json")}
    # Upstream quirk: cardano.json's Value propertyNames pattern rejects its own required "ada" key.
    for schema in schemas.values():  # upstream writes the draft-07 id with https, which is unknown
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schemas["cardano.json"]["definitions"]["Value"]["propertyNames"] = {"pattern": "^(ada|[0-9a-f]{56})$"}
    return Registry().with_resources((n, Resource.from_contents(s)) for n, s in schemas.items())


def assert_ogmios_shape(error: LedgerRejection) -> None:
    """The rejection, as the devnet's Ogmios server would send it, matches Ogmios' schema."""
    from jsonschema import Draft7Validator

    definition = "EvaluateTransactionFailure" if error.ogmios_code == 3010 else "SubmitTransactionFailure"
    if error.ogmios_code == -32602:
        definition = "DeserialisationFailure"
    schema = {"$ref": f"ogmios.json#/definitions/{definition}"}
    payload = {"code": error.ogmios_code, "message": error.message}
    if error.data is not None:
        payload["data"] = error.data
    errors = list(Draft7Validator(schema, registry=_ogmios_registry()).iter_errors(payload))
    assert not errors, [e.message[:300] for e in errors]


def rejected(ledger: Ledger, tx: Transaction, code: int) -> LedgerRejection:
    """Submit, expect a rejection with ``code`` in Ogmios' shape, and check nothing changed."""
    before_utxo, before_tip = dict(ledger.utxo), ledger.tip
    try:
        ledger.submit(tx)
    except LedgerRejection as rejection:
        error = rejection
    else:
        raise AssertionError(f"DID NOT RAISE {LedgerRejection}")
    assert error.ogmios_code == code, f"expected {code}, got {error.ogmios_code}: {error}"
    assert_ogmios_shape(error)
    assert dict(ledger.utxo) == before_utxo and ledger.tip == before_tip
    return error


def accepted(ledger: Ledger, tx: Transaction) -> str:
    """Submit, expect acceptance, and check the outputs are in the UTxO set."""
    tx_id = ledger.submit(tx)
    assert tx_id == str(tx.id) and ledger.has_transaction(tx_id)
    for i, out in enumerate(tx.transaction_body.outputs):
        assert ledger.utxo[TransactionInput(tx.id, i)] == out
    return tx_id


def spend(hand: HandTx, locked: TransactionInput, *, script: PlutusV3Script = ALWAYS_SUCCEEDS,
          witness: dict[str, Any] | None = None, collateral: list[TransactionInput] | None = None,
          integrity: bool = True, signers: list[Wallet] | None = None,
          outputs: Sequence[TransactionOutput] = (), **kw: Any) -> Transaction:
    """Spend the script-locked ``locked`` back to alice, with alice's second UTxO as collateral."""
    alice = hand.w("alice")
    base: dict[str, Any] = {"redeemer": [redeemer(RedeemerTag.SPEND, 0)], "plutus_v3_script": [script]}
    base.update(witness or {})
    base = {k: v for k, v in base.items() if v is not None}
    coll = collateral if collateral is not None else [hand.utxos("alice")[1][0]]
    return hand.build([(locked, hand.ledger.utxo[locked])], list(outputs), signers or [alice],
                      change_to=alice.address, collateral=coll or None, witness=base, integrity=integrity, **kw)


def same_state(a: Ledger, b: Ledger, wallets: Iterable[str] = ("alice", "bob", "carol")) -> None:
    """The two ledgers hold the same state: UTxO set, tip, clock, blocks, mempool, stake,
    indexes, and each wallet's outputs (what a reload must give back)."""
    assert dict(a.utxo) == dict(b.utxo)
    assert a.tip == b.tip and a.current_slot == b.current_slot
    assert [(x.block_hash, [t.tx_id for t in x.txs]) for x in a.blocks] == \
        [(x.block_hash, [t.tx_id for t in x.txs]) for x in b.blocks]
    assert a.mempool == b.mempool and dict(a.stake_accounts) == dict(b.stake_accounts)
    assert a.index == b.index
    for name in wallets:
        assert sorted(r.to_cbor() for r, _ in a.utxos_at(a.wallet(name).address)) == \
            sorted(r.to_cbor() for r, _ in b.utxos_at(b.wallet(name).address))
