"""Two honest third-party contracts for the cross-contract attack class (issue 6 §1).

Both pay a payee a token amount and TAG the payment with their own output reference, the
standard defence against double satisfaction among their own UTxOs:

* ``order`` -- a buy order: whoever delivers ``amount`` of (policy, name) to ``payee`` in
  an output whose INLINE datum is the order's own ``TxOutRef`` may take the ADA locked in
  the order;
* ``escrow`` -- holds tokens for ``payee``; spendable when an output pays ``payee`` at least
  ``amount`` with the DATUM HASH ``blake2b_256(serialiseData(own TxOutRef))``.

Datum of both (inline): ``Constr 0 [payee address, policy, name, amount]``.  They are
written with the same UPLC helpers as the batch validator (``onchain/batch_release_uplc.py``)
and run on the devnet like any script; the test deploys them as reference scripts.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pycardano as pc
import uplc

__all__ = [
    "ONCHAIN",
    "escrow_tag",
    "out_ref_data",
    "script",
    "terms",
]

ONCHAIN = Path(__file__).resolve().parents[2] / "onchain" / "batch_release_uplc.py"


def _helpers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_third_party_uplc", ONCHAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _program(kind: str) -> str:
    u = _helpers()
    u.LAYOUTS["SpendingInfo"] = ("out_ref", "datum")
    own_ref = u.field(u.fields_of(u.field("context", "ScriptContext", "script_info")), "SpendingInfo", "out_ref")
    if kind == "order":
        tag = u.apply(u.builtin("constrData"), u.integer(2),
                      u.apply(u.builtin("mkCons"), own_ref, u.NO_DATA))
    else:
        digest = u.apply(u.builtin("blake2b_256"), u.apply(u.builtin("serialiseData"), own_ref))
        tag = u.apply(u.builtin("constrData"), u.integer(1),
                      u.apply(u.builtin("mkCons"), u.apply(u.builtin("bData"), digest), u.NO_DATA))
    find = u.recursive(
        "find", "outputs",
        u.when(u.is_empty("outputs"), "(error)",
               u.lets([("output", u.fields_of(u.head("outputs")))],
                      u.when(u.when(u.same_data(u.field("output", "TxOut", "address"), "payee"),
                                    u.when(u.same_data(u.field("output", "TxOut", "datum"), "tag"),
                                           u.at_most("amount", u.quantity(u.field("output", "TxOut", "value"),
                                                                          "policy", "name")),
                                           u.FALSE),
                                    u.FALSE),
                             u.UNIT,
                             u.call("find", u.tail("outputs")))))
    )
    datum = u.fields_of(u.head(u.fields_of(u.field(u.fields_of(u.field("context", "ScriptContext", "script_info")),
                                                    "SpendingInfo", "datum"))))
    body = u.lets(
        [
            ("context", u.fields_of("script_context")),
            ("tx_info", u.fields_of(u.field("context", "ScriptContext", "tx_info"))),
            ("terms", datum),
            ("payee", u.head("terms")),
            ("policy", u.head(u.tail("terms"))),
            ("name", u.head(u.tail("terms", 2))),
            ("amount", u.as_integer(u.head(u.tail("terms", 3)))),
            ("tag", tag),
            ("find_name", u.FIND_NAME),
            ("find_policy", u.FIND_POLICY),
            ("find", find),
        ],
        u.call("find", u.as_list(u.field("tx_info", "TxInfo", "outputs"))),
    )
    hoisted = u.lets([(f"builtin_{n}", u.forced(n)) for n in u.FORCES if n != "trace"], body)
    return f"(program 1.1.0 (lam script_context {hoisted}))"


def script(kind: str) -> pc.PlutusV3Script:
    """``kind``: "order" (inline-datum tag) or "escrow" (datum-hash tag)."""
    return pc.PlutusV3Script(uplc.flatten(uplc.parse(_program(kind))))


def terms(payee: pc.Address, policy: bytes, name: bytes, amount: int) -> pc.RawPlutusData:
    import cbor2

    from runner.contract.datums import to_plutus_address

    return pc.RawPlutusData(cbor2.CBORTag(121, [cbor2.loads(to_plutus_address(payee).to_cbor()), policy, name,
                                                amount]))


def out_ref_data(ref: pc.TransactionInput) -> pc.PlutusData:
    """The V3 ``TxOutRef`` as Plutus data (pycardano encodes it as ``serialiseData`` does)."""
    from runner.contract.datums import PlutusTxOutRef

    return PlutusTxOutRef(ref.transaction_id.payload, ref.index)


def escrow_tag(ref: pc.TransactionInput) -> bytes:
    return hashlib.blake2b(out_ref_data(ref).to_cbor(), digest_size=32).digest()
