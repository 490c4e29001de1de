"""The V3 ScriptContext, field by field, against the ledger's encoding (PlutusLedgerApi.V3).

Expected values are written out with uplc's raw data constructors, independently of the
builders under test: ``C(tag, *fields)``, ``I(n)``, ``B(bytes)``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pycardano import (
    Address,
    Asset,
    AssetName,
    DatumHash,
    MultiAsset,
    Network,
    PointerAddress,
    RedeemerTag,
    ScriptHash,
    StakeCredential,
    StakeDelegation,
    StakeRegistration,
    StakeRegistrationConway,
    Transaction,
    TransactionBody,
    TransactionOutput,
    TransactionWitnessSet,
    VerificationKeyHash,
    Withdrawals,
    datum_hash,
    plutus_script_hash,
)
from pycardano.certificate import DRep, DRepKind, PoolRetirement, VoteDelegation
from uplc.ast import (
    PlutusByteString,
    PlutusConstr,
    PlutusInteger,
    PlutusList,
    PlutusMap,
)

from runner.devnet.plutus.phase2 import NotEvaluable, evaluate_scripts, script_contexts
from runner.devnet.plutus.script_context import tx_cert, validity_range, value_data
from runner.devnet.plutus.uplc_speed import parameter_names
from runner.errors import LedgerRejection
from runner.testing.ledger import assert_ogmios_shape
from runner.testing.phase2_kit import (
    CLOCK,
    COST_MODELS,
    MAX_UNITS,
    WALLET,
    Lock,
    redeemers,
    script_address,
    txin,
    uplc_script,
)


def C(tag: int, *fields: object) -> PlutusConstr:
    return PlutusConstr(tag, list(fields))


def I(n: int) -> PlutusInteger:
    return PlutusInteger(n)


def B(b: bytes) -> PlutusByteString:
    return PlutusByteString(b)


UNIT = uplc_script("(program 1.1.0 (lam ctx (con unit ())))")
UNIT_HASH = plutus_script_hash(UNIT)
OTHER = uplc_script("(program 1.1.0 (lam ctx (lam x (con unit ()))))")  # another hash
VKH = VerificationKeyHash(bytes.fromhex("ab" * 28))


def ms(slot: int) -> int:
    return CLOCK.slot_to_posix_ms(slot)


# --- pure encoders -------------------------------------------------------------------------


def test_validity_start_is_a_closed_lower_bound_and_ttl_an_open_upper_bound():
    assert validity_range(10, 20, CLOCK) == C(0, C(0, C(1, I(ms(10))), C(1)), C(0, C(1, I(ms(20))), C(0)))


def test_absent_bounds_are_infinite_and_closed():
    assert validity_range(None, None, CLOCK) == C(0, C(0, C(0), C(1)), C(0, C(2), C(1)))


def test_value_puts_ada_first_then_sorts_policies_and_token_names_bytewise():
    low, high = ScriptHash(b"\x01" * 28), ScriptHash(b"\x02" * 28)
    assets = MultiAsset(
        {
            high: Asset({AssetName(b"b"): 1, AssetName(b"aa"): 2}),
            low: Asset({AssetName(b"x"): 3, AssetName(b"gone"): 0}),
        }
    )
    value = value_data(5, assets)
    assert list(value.value.items()) == [
        (B(b""), PlutusMap({B(b""): I(5)})),
        (B(low.payload), PlutusMap({B(b"x"): I(3)})),
        (B(high.payload), PlutusMap({B(b"aa"): I(2), B(b"b"): I(1)})),
    ]
    assert [k for k, _ in value.value[B(high.payload)].value.items()] == [
        B(b"aa"),
        B(b"b"),
    ]
    assert B(b"") not in value_data(None, assets).value


@pytest.mark.parametrize(
    ("cert", "expected"),
    [
        (StakeRegistration(StakeCredential(VKH)), C(0, C(0, B(VKH.payload)), C(1))),
        (
            StakeRegistrationConway(StakeCredential(UNIT_HASH), 2_000_000),
            C(0, C(1, B(UNIT_HASH.payload)), C(0, I(2_000_000))),
        ),
        (
            StakeDelegation(StakeCredential(VKH), VerificationKeyHash(b"\x09" * 28)),
            C(2, C(0, B(VKH.payload)), C(0, B(b"\x09" * 28))),
        ),
        (
            VoteDelegation(StakeCredential(VKH), DRep(DRepKind.ALWAYS_ABSTAIN)),
            C(2, C(0, B(VKH.payload)), C(1, C(1))),
        ),
        (
            PoolRetirement(VerificationKeyHash(b"\x07" * 28), 300),
            C(8, B(b"\x07" * 28), I(300)),
        ),
    ],
    ids=["reg", "reg-deposit", "deleg-pool", "deleg-drep", "pool-retire"],
)
def test_certificates_use_the_v3_txcert_encoding(cert, expected):
    assert tx_cert(cert) == expected


# --- the whole TxInfo ----------------------------------------------------------------------


def _busy_tx() -> tuple[Transaction, dict]:
    """A spend through UNIT with unsorted inputs, signers, withdrawals and two datums."""
    lock_a, lock_b = Lock(1, b"a", 1), Lock(2, b"b", 2)
    stake = Address(UNIT_HASH, VerificationKeyHash(b"\x05" * 28), network=Network.TESTNET)
    spent = txin(5, 1)
    resolved = {
        spent: TransactionOutput(stake, 3_000_000, datum_hash=datum_hash(lock_a)),
        txin(5, 0): TransactionOutput(WALLET, 4_000_000),
        txin(2, 3): TransactionOutput(
            Address(VKH, PointerAddress(1, 2, 3), network=Network.TESTNET), 5_000_000
        ),
        txin(9): TransactionOutput(WALLET, 6_000_000, datum=lock_b, script=OTHER),
        txin(8): TransactionOutput(WALLET, 6_000_000),
    }
    body = TransactionBody(
        inputs=[spent, txin(5, 0), txin(2, 3)],
        outputs=[TransactionOutput(script_address(UNIT), 2_000_000, datum_hash=datum_hash(lock_b))],
        fee=777_777,
        mint=MultiAsset({UNIT_HASH: Asset({AssetName(b"t"): -3})}),
        withdraws=Withdrawals({bytes([0xE0]) + b"\x00" * 28: 1, bytes([0xF0]) + b"\xff" * 28: 2}),
        validity_start=100,
        required_signers=[
            VerificationKeyHash(b"\x09" * 28),
            VerificationKeyHash(b"\x03" * 28),
        ],
        reference_inputs=[txin(9), txin(8)],
        current_treasury_value=123,
    )
    witness = TransactionWitnessSet(
        plutus_v3_script=[UNIT],
        plutus_data=[lock_b, lock_a],
        redeemer=redeemers(
            [
                (RedeemerTag.MINT, 0, 11, MAX_UNITS),
                (RedeemerTag.SPEND, 2, 22, MAX_UNITS),
            ],
            "list",
        ),
    )
    return Transaction(body, witness), resolved


def test_the_contracts_field_table_reads_the_devnets_contexts():
    """Round trip with onchain/batch_release_uplc.py's LAYOUTS (the table the release
    validator reads fields by): each named field, read by the contract's positions from a
    context the devnet built, holds what that name means."""
    from onchain.batch_release_uplc import LAYOUTS, SCRIPT_INFO

    def read(record, layout: str, name: str):
        return record.fields[LAYOUTS[layout].index(name)]

    tx, resolved = _busy_tx()
    spend_run = script_contexts(tx, resolved, CLOCK)[0]
    ctx = spend_run.context
    assert len(ctx.fields) == len(LAYOUTS["ScriptContext"])
    info = read(ctx, "ScriptContext", "tx_info")
    assert len(info.fields) == len(LAYOUTS["TxInfo"])
    assert read(ctx, "ScriptContext", "redeemer") == I(22)
    assert read(ctx, "ScriptContext", "script_info").constructor == SCRIPT_INFO["spending"]
    assert read(info, "TxInfo", "fee") == I(777_777)
    assert read(info, "TxInfo", "id") == B(tx.id.payload)
    assert read(info, "TxInfo", "signatories") == PlutusList([B(b"\x03" * 28), B(b"\x09" * 28)])
    assert read(info, "TxInfo", "current_treasury") == C(0, I(123))
    assert read(info, "TxInfo", "treasury_donation") == C(1)
    assert [len(read(info, "TxInfo", n).value) for n in ("inputs", "reference_inputs", "outputs", "certificates",
                                                          "withdrawals", "redeemers", "data", "proposals")] == \
        [3, 2, 1, 0, 2, 2, 2, 0]
    assert list(read(info, "TxInfo", "mint").value) == [B(UNIT_HASH.payload)]
    first = read(info, "TxInfo", "inputs").value[0]
    assert read(first, "TxInInfo", "out_ref") == C(0, B(b"\x02" * 32), I(3))
    output = read(info, "TxInfo", "outputs").value[0]
    address = read(output, "TxOut", "address")
    assert read(address, "Address", "payment_credential") == C(1, B(UNIT_HASH.payload))
    assert read(output, "TxOut", "value") == PlutusMap({B(b""): PlutusMap({B(b""): I(2_000_000)})})
    assert read(output, "TxOut", "datum").constructor == 1  # OutputDatumHash
    assert read(output, "TxOut", "reference_script") == C(1)
    lower = read(read(info, "TxInfo", "validity_range"), "Interval", "lower_bound")
    assert read(lower, "LowerBound", "extended") == C(1, I(ms(100)))
    assert read(lower, "LowerBound", "closed") == C(1)


def test_tx_info_has_sixteen_fields_in_ledger_order():
    tx, resolved = _busy_tx()
    runs = script_contexts(tx, resolved, CLOCK)
    assert [(r.tag, r.index) for r in runs] == [("spend", 2), ("mint", 0)]
    info = runs[0].context.fields[0]
    assert info.constructor == 0 and len(info.fields) == 16
    (
        ins,
        refs,
        outs,
        fee,
        mint,
        certs,
        wdrl,
        rng,
        sigs,
        rdmrs,
        dats,
        txid,
        votes,
        props,
        treasury,
        donation,
    ) = info.fields
    assert [i.fields[0] for i in ins.value] == [
        C(0, B(b"\x02" * 32), I(3)),
        C(0, B(b"\x05" * 32), I(0)),
        C(0, B(b"\x05" * 32), I(1)),
    ]
    assert [i.fields[0] for i in refs.value] == [
        C(0, B(b"\x08" * 32), I(0)),
        C(0, B(b"\x09" * 32), I(0)),
    ]
    assert len(outs.value) == 1 and fee == I(777_777)
    assert mint == PlutusMap({B(UNIT_HASH.payload): PlutusMap({B(b"t"): I(-3)})})
    assert certs == PlutusList([])
    # script credentials sort before key credentials, whatever the hash bytes
    assert list(wdrl.value.items()) == [
        (C(1, B(b"\xff" * 28)), I(2)),
        (C(0, B(b"\x00" * 28)), I(1)),
    ]
    assert rng == C(0, C(0, C(1, I(ms(100))), C(1)), C(0, C(2), C(1)))
    assert sigs == PlutusList([B(b"\x03" * 28), B(b"\x09" * 28)])
    # the redeemer map is ordered by (tag, index): spend before mint
    assert list(rdmrs.value.items()) == [
        (C(1, C(0, B(b"\x05" * 32), I(1))), I(22)),
        (C(0, B(UNIT_HASH.payload)), I(11)),
    ]
    hashes = sorted([datum_hash(Lock(1, b"a", 1)).payload, datum_hash(Lock(2, b"b", 2)).payload])
    assert [k for k, _ in dats.value.items()] == [B(h) for h in hashes]
    assert txid == B(tx.id.payload)
    assert votes == PlutusMap({}) and props == PlutusList([])
    assert treasury == C(0, I(123)) and donation == C(1)


@pytest.mark.parametrize(("given", "shown"), [(None, C(1)), (0, C(1)), (5, C(0, I(5)))])
def test_treasury_donation_is_just_a_positive_amount(given, shown):
    tx, resolved = _busy_tx()
    tx.transaction_body.donation = given
    info = script_contexts(tx, resolved, CLOCK)[0].context.fields[0]
    assert info.fields[15] == shown


def test_tx_outs_encode_addresses_datums_and_reference_scripts():
    tx, resolved = _busy_tx()
    info = script_contexts(tx, resolved, CLOCK)[0].context.fields[0]
    ins, refs = info.fields[0].value, info.fields[1].value
    pointer_out = ins[0].fields[1]
    assert pointer_out.fields[0] == C(0, C(0, B(VKH.payload)), C(0, C(1, I(1), I(2), I(3))))
    script_out = ins[2].fields[1]
    assert script_out.fields[0] == C(0, C(1, B(UNIT_HASH.payload)), C(0, C(0, C(0, B(b"\x05" * 28)))))
    assert script_out.fields[2] == C(1, B(datum_hash(Lock(1, b"a", 1)).payload))
    assert script_out.fields[3] == C(1)
    with_ref = refs[1].fields[1]
    assert with_ref.fields[0] == C(0, C(0, B(WALLET.payment_part.payload)), C(1))
    assert with_ref.fields[1] == PlutusMap({B(b""): PlutusMap({B(b""): I(6_000_000)})})
    assert with_ref.fields[2] == C(2, C(0, I(2), B(b"b"), I(2)))
    assert with_ref.fields[3] == C(0, B(plutus_script_hash(OTHER).payload))


def test_script_info_carries_the_purpose_and_the_spent_datum():
    tx, resolved = _busy_tx()
    spend, mint = script_contexts(tx, resolved, CLOCK)
    assert spend.context.fields[1] == I(22)
    assert spend.context.fields[2] == C(1, C(0, B(b"\x05" * 32), I(1)), C(0, C(0, I(1), B(b"a"), I(1))))
    assert mint.context.fields[2] == C(0, B(UNIT_HASH.payload))


def test_the_submitted_tx_id_and_datum_bytes_win_over_re_encoding():
    tx, resolved = _busy_tx()
    raw_datum = bytes.fromhex("d8798301416101")  # Lock(1, b"a", 1), definite-length list
    raw_hash = hashlib.blake2b(raw_datum, digest_size=32).digest()
    spent = txin(5, 1)
    resolved[spent] = TransactionOutput(resolved[spent].address, 3_000_000, datum_hash=DatumHash(raw_hash))
    with pytest.raises(NotEvaluable, match="datum with hash"):  # pycardano re-encodes indefinite-length
        script_contexts(tx, resolved, CLOCK)
    runs = script_contexts(tx, resolved, CLOCK, tx_id=b"\xee" * 32, datum_cbor=[raw_datum])
    info = runs[0].context.fields[0]
    assert info.fields[11] == B(b"\xee" * 32)
    assert list(info.fields[10].value) == [B(raw_hash)]
    assert runs[0].context.fields[2].fields[1] == C(0, C(0, I(1), B(b"a"), I(1)))


def test_a_byron_input_cannot_be_shown_to_a_script():
    tx, resolved = _busy_tx()
    byron = Address.from_primitive("Ae2tdPwUPEZFRbyhz3cpfC2CumGzNkFBN2L42rcUc2yjQpEkxDbkPodpMAi")
    resolved[txin(5, 0)] = TransactionOutput(byron, 4_000_000)
    with pytest.raises(LedgerRejection, match="no payment credential") as err:
        script_contexts(tx, resolved, CLOCK)
    assert err.value.ogmios_code == 3010
    assert_ogmios_shape(err.value)
    assert [d["validator"] for d in err.value.data] == [
        {"purpose": "spend", "index": 2},
        {"purpose": "mint", "index": 0},
    ]


def test_every_redeemer_runs_on_the_busy_transaction():
    tx, resolved = _busy_tx()
    results = evaluate_scripts(tx, resolved, CLOCK, COST_MODELS, budgets="max", max_ex_units=MAX_UNITS)
    assert [(r.tag, r.index, r.ok) for r in results] == [
        ("spend", 2, True),
        ("mint", 0, True),
    ]


def test_certifying_purpose_carries_the_index_and_the_certificate():
    fee_input = txin(4)
    resolved = {fee_input: TransactionOutput(WALLET, 10_000_000)}
    certificates = [
        StakeRegistration(StakeCredential(VKH)),
        StakeDelegation(StakeCredential(UNIT_HASH), VerificationKeyHash(b"\x09" * 28)),
    ]
    body = TransactionBody(
        inputs=[fee_input],
        outputs=[TransactionOutput(WALLET, 9_000_000)],
        fee=1_000_000,
        certificates=certificates,
    )
    witness = TransactionWitnessSet(
        plutus_v3_script=[UNIT],
        redeemer=redeemers([(RedeemerTag.CERTIFICATE, 1, 0, MAX_UNITS)], "list"),
    )
    [run] = script_contexts(Transaction(body, witness), resolved, CLOCK)
    assert run.tag == "publish"
    expected_cert = C(2, C(1, B(UNIT_HASH.payload)), C(0, B(b"\x09" * 28)))
    assert run.context.fields[2] == C(3, I(1), expected_cert)
    assert run.context.fields[0].fields[5].value[1] == expected_cert


# --- cost models -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["PlutusV1", "PlutusV2", "PlutusV3"])
def test_uplc_parameter_names_follow_the_ledger_order_of_the_raw_list(language):
    import json

    import uplc

    table = Path(uplc.__file__).parent / "cost_model_files" / "2024-07-30" / "cost-model-merged.json"
    defaults = list(json.loads(table.read_text())[language].values())
    raw = list(COST_MODELS[language])
    names = parameter_names()[language]
    assert len(names) == len(raw) == len(defaults)
    assert raw == defaults  # mainnet 616 equals uplc's table, position by position
    assert names[0] == "addInteger-cpu-arguments-intercept"
    assert raw[names.index("cekStartupCost-exBudgetCPU")] == 100
    assert raw[names.index("cekApplyCost-exBudgetCPU")] == 16000


def test_a_redeemer_for_a_native_script_policy_is_extraneous():
    from pycardano import ScriptPubkey

    native = ScriptPubkey(VKH)
    fee_input = txin(4)
    body = TransactionBody(
        inputs=[fee_input],
        outputs=[TransactionOutput(WALLET, 9_000_000)],
        fee=1_000_000,
        mint=MultiAsset({native.hash(): Asset({AssetName(b"n"): 1})}),
    )
    witness = TransactionWitnessSet(
        native_scripts=[native],
        redeemer=redeemers([(RedeemerTag.MINT, 0, 0, MAX_UNITS)], "list"),
    )
    resolved = {fee_input: TransactionOutput(WALLET, 10_000_000)}
    with pytest.raises(NotEvaluable, match="native script"):  # the ledger's ExtraRedeemers (3110) says so
        script_contexts(Transaction(body, witness), resolved, CLOCK)
