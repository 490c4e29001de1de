"""Hand-assembled transactions against the devnet ledger, for the attack suite.

A :class:`Draft` is a transaction's parts; :meth:`Kit.finish` makes it a real one:
change to the fee payer, redeemer ex units measured by ``ledger.evaluate`` (a failing
script gets what is left of the transaction budget, so it fails on its own logic, not on
its budget), script-data hash by pycardano's ``script_data_hash``, the exact Conway
minimum fee (size, ex units, reference-script bytes), vkey signatures.  No builder and no
balancing beyond the change output, so a test can break exactly one rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pycardano as pc
from pycardano import ExecutionUnits as Units
from pycardano import TransactionInput as Ref
from pycardano.utils import script_data_hash

from runner.devnet import Ledger
from runner.devnet.ledger import ledger_size, min_fee
from runner.errors import LedgerRejection

__all__ = [
    "NETWORK",
    "Draft",
    "Kit",
]

NETWORK = pc.Network.TESTNET


@dataclass
class Draft:
    """A transaction's parts; redeemers are keyed by what they unlock (an input, a policy
    id, a reward account, a certificate position), so their indexes are always right."""

    inputs: list[Ref]
    outputs: list[pc.TransactionOutput] = field(default_factory=list)
    reference_inputs: list[Ref] = field(default_factory=list)
    mint: pc.MultiAsset | None = None
    withdrawals: dict[bytes, int] = field(default_factory=dict)
    certificates: list[Any] = field(default_factory=list)
    deposits: int = 0
    validity_start: int | None = None
    ttl: int | None = None
    required_signers: list[bytes] = field(default_factory=list)
    signers: list[pc.SigningKey] = field(default_factory=list)
    spend: dict[Ref, Any] = field(default_factory=dict)
    mints: dict[bytes, Any] = field(default_factory=dict)
    withdraws: dict[bytes, Any] = field(default_factory=dict)
    publish: dict[int, Any] = field(default_factory=dict)
    change_address: pc.Address | None = None
    collateral: list[Ref] = field(default_factory=list)


def _redeemers(d: Draft, units: dict[tuple[int, int], Units]) -> list[pc.Redeemer]:
    inputs = sorted(d.inputs, key=lambda r: (r.transaction_id.payload, r.index))
    policies = sorted(d.mints)
    accounts = sorted(d.withdrawals, key=lambda a: (0 if a[0] & 0x10 else 1, a[1:]))
    wanted: list[tuple[pc.RedeemerTag, int, Any]] = []
    wanted += [(pc.RedeemerTag.SPEND, inputs.index(r), v) for r, v in d.spend.items() if r in inputs]
    wanted += [(pc.RedeemerTag.MINT, policies.index(p), v) for p, v in d.mints.items()]
    wanted += [(pc.RedeemerTag.CERTIFICATE, i, v) for i, v in d.publish.items()]
    wanted += [(pc.RedeemerTag.WITHDRAWAL, accounts.index(a), v) for a, v in d.withdraws.items() if a in accounts]
    out = []
    for tag, index, data in sorted(wanted, key=lambda w: (w[0].value, w[1])):
        r = pc.Redeemer(data, units.get((tag.value, index), Units(0, 0)))
        r.tag, r.index = tag, index
        out.append(r)
    return out


_TAGS = {"spend": 0, "mint": 1, "publish": 2, "withdraw": 3}


class Kit:
    """Assembles drafts against one ledger and submits them."""

    def __init__(self, ledger: Ledger, payer: pc.SigningKey) -> None:
        self.ledger = ledger
        self.params = ledger.params
        self.payer = payer
        self.payer_address = pc.Address(payer.to_verification_key().hash(), network=NETWORK)
        self._seen: dict[Ref, pc.TransactionOutput] = {}
        v3 = {f"{i:03d}": x for i, x in enumerate(self.params.cost_model("PlutusV3"))}
        self.cost_models = pc.CostModels({2: v3})

    def payer_utxos(self) -> list[Ref]:
        found = [(r, o) for r, o in self.ledger.utxos_at(self.payer_address) if not o.amount.multi_asset]
        return [r for r, _ in sorted(found, key=lambda ro: -ro[1].amount.coin)]

    def resolve(self, ref: Ref) -> pc.TransactionOutput:
        """The output ``ref`` points to, even once spent (to build a replay of a spend)."""
        if ref in self.ledger.utxo:
            self._seen[ref] = self.ledger.utxo[ref]
        return self._seen[ref]

    def _assemble(self, d: Draft, fee: int, units: dict[tuple[int, int], Units]) -> pc.Transaction:
        total = pc.Value(sum(d.withdrawals.values()) - d.deposits - fee, d.mint or pc.MultiAsset())
        for ref in d.inputs:
            total = total + self.resolve(ref).amount
        for out in d.outputs:
            total = total - out.amount
        outputs = list(d.outputs)
        if total.coin or total.multi_asset:
            outputs.append(pc.TransactionOutput(d.change_address or self.payer_address, total))
        redeemers = _redeemers(d, units)
        body = pc.TransactionBody(
            inputs=list(d.inputs), outputs=outputs, fee=fee, ttl=d.ttl, validity_start=d.validity_start,
            mint=d.mint or None, certificates=list(d.certificates) or None,
            withdraws=pc.Withdrawals(dict(d.withdrawals)) if d.withdrawals else None,
            reference_inputs=list(d.reference_inputs) or None,
            required_signers=[pc.VerificationKeyHash(h) for h in d.required_signers] or None,
            collateral=(list(d.collateral) or self.payer_utxos()[-1:]) if redeemers else None,
        )
        if redeemers:
            body.script_data_hash = script_data_hash(redeemers, None, self.cost_models)
        digest = body.hash()
        vkeys = [pc.VerificationKeyWitness(k.to_verification_key(), k.sign(digest)) for k in d.signers]
        witness = pc.TransactionWitnessSet(vkey_witnesses=vkeys or None, redeemer=redeemers or None)
        return pc.Transaction(body, witness)

    def _reference_script_bytes(self, d: Draft) -> int:
        outs = [self.ledger.utxo[r] for r in [*d.inputs, *d.reference_inputs] if r in self.ledger.utxo]
        return sum(len(o.script) for o in outs if isinstance(o.script, pc.PlutusV3Script))

    def _measure(self, tx: pc.Transaction) -> dict[tuple[int, int], Units]:
        """Exact units of passing scripts; what is left of the tx budget for failing ones."""
        try:
            results = self.ledger.evaluate(tx)
        except LedgerRejection:
            return {}
        ok = [r for r in results if r.ok]
        failed = [r for r in results if not r.ok]
        units = {(_TAGS[r.tag], r.index): Units(r.memory, r.cpu) for r in ok}
        if failed:
            mem = (self.params.max_tx_ex_mem - sum(r.memory for r in ok)) // len(failed)
            steps = (self.params.max_tx_ex_steps - sum(r.cpu for r in ok)) // len(failed)
            units |= {(_TAGS[r.tag], r.index): Units(mem, steps) for r in failed}
        return units

    def finish(self, d: Draft, *, fee: int | None = None) -> pc.Transaction:
        """The signed transaction at the exact minimum fee (or ``fee`` if given)."""
        units: dict[tuple[int, int], Units] = {}
        current = 0
        ref_bytes = self._reference_script_bytes(d)
        for _ in range(6):
            tx = self._assemble(d, current if fee is None else fee, units)
            measured = self._measure(tx)
            if measured != units:
                units = measured
                continue
            mem = sum(u.mem for u in units.values())
            steps = sum(u.steps for u in units.values())
            needed = min_fee(self.params, ledger_size(tx), mem, steps, ref_bytes)
            if fee is not None or needed == current:
                return tx
            current = needed
        raise AssertionError("fee and ex units did not converge")

    def submit(self, tx: pc.Transaction) -> str:
        """Submit through phase 1 and phase 2; returns the tx id or raises LedgerRejection."""
        return self.ledger.submit(tx)

    def run(self, d: Draft) -> str:
        return self.submit(self.finish(d))

    def rejected(self, tx: pc.Transaction, code: int, purpose: str | None = None,
                 trace: str | None = None) -> LedgerRejection:
        """Expect a rejection with ``code`` (and for 3010 the failing validator's purpose and,
        when the script kept traces, the message: the committed build has none, so the
        twin, which differs in one rule only, is what pins the cause; see
        ``ATTACK_BLUEPRINT=traced``); the UTxO set and tip are unchanged."""
        before_utxo, before_tip = dict(self.ledger.utxo), self.ledger.tip
        try:
            self.ledger.submit(tx)
        except LedgerRejection as rejection:
            err = rejection
        else:
            raise AssertionError(f"expected a rejection with {code}, the ledger accepted the transaction")
        assert err.ogmios_code == code, f"expected {code}, got {err.ogmios_code}: {err}"
        if purpose is not None:
            purposes = [f["validator"]["purpose"] for f in err.data]
            assert purpose in purposes, f"expected the {purpose} validator to fail, failures: {err.data}"
        if trace is not None:
            traces = [t for f in err.data for t in f["error"]["data"]["traces"]]
            if traces:
                assert any(trace in t for t in traces), f"expected trace {trace!r}: {traces}"
        assert dict(self.ledger.utxo) == before_utxo and self.ledger.tip == before_tip
        return err

    def accepted(self, tx: pc.Transaction) -> str:
        tx_id = self.ledger.submit(tx)
        assert self.ledger.has_transaction(tx_id)
        for i, out in enumerate(tx.transaction_body.outputs):
            stored = self.ledger.utxo[pc.TransactionInput(tx.id, i)]
            assert stored.to_cbor() == out.to_cbor(), f"output #{i} differs on the ledger: {stored}"
        return tx_id


