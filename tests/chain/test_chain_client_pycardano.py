"""pycardano's TransactionBuilder works over any ChainBackend through OgmiosKupoContext.

Chain facts (mainnet epoch-616 protocol parameters, rewritten in Ogmios v6.14 shape and
checked against Ogmios' schema; a few UTxOs) are served by a small in-memory
ChainBackend. The checks are the ledger's own rules computed independently here:
Shelley min fee, value conservation, script hashes, cost-model order.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import cbor2
import pytest
from jsonschema import Draft7Validator
from pycardano import (
    Address,
    CostModels,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    RedeemerTag,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    plutus_script_hash,
)
from pycardano import Value as PyValue
from referencing import Registry
from referencing.jsonschema import DRAFT7

from runner.chain import ogmios_codec as codec
from runner.chain.backend import (
    ChainBackend,
    Evaluation,
    ExecutionUnits,
    OutputReference,
    RedeemerBudget,
    Script,
    SubmitResult,
    Tip,
    Utxo,
    Value,
)
from runner.chain.kupo import KupoClient
from runner.chain.ogmios import OgmiosClient
from runner.chain.ogmios_kupo import OgmiosKupoBackend
from runner.chain.pycardano_context import (
    OgmiosKupoContext,
    to_pycardano_budgets,
    to_pycardano_utxo,
)
from runner.errors import ProtocolError

REFERENCE = Path("/work/shared/reference")
_here = Path(__file__).resolve().parents[3] / "shared" / "reference"
if _here.is_dir():
    REFERENCE = _here
MAINNET = json.loads(
    (REFERENCE / "protocol-parameters" / "mainnet-epoch-616.json").read_text()
)
POLICY = "4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d"


def _schemas() -> Registry:
    cardano = json.loads((REFERENCE / "ogmios" / "cardano.json").read_text())
    cardano["definitions"]["Value"]["propertyNames"] = {
        "pattern": "^(ada|[0-9a-f]{56})$"
    }  # upstream quirk
    return Registry().with_resource("cardano.json", DRAFT7.create_resource(cardano))


SCHEMAS = _schemas()


def assert_schema(instance: Any, definition: str) -> None:
    errors = list(
        Draft7Validator(
            {"$ref": f"cardano.json#/definitions/{definition}"}, registry=SCHEMAS
        ).iter_errors(instance)
    )
    assert not errors, (
        f"{definition}: {errors[0].message} at {list(errors[0].absolute_path)}"
    )


def ratio(number: float) -> str:
    exact = Fraction(str(number))
    return f"{exact.numerator}/{exact.denominator}"


def ada(lovelace: Any) -> dict[str, Any]:
    return {"ada": {"lovelace": int(lovelace)}}


def mainnet_in_ogmios_shape() -> dict[str, Any]:
    """Blockfrost-shaped mainnet epoch 616 parameters, rewritten as Ogmios v6.14 sends them."""
    m = MAINNET
    params = {
        "minFeeCoefficient": m["min_fee_a"],
        "minFeeConstant": ada(m["min_fee_b"]),
        "minFeeReferenceScripts": {
            "base": float(m["min_fee_ref_script_cost_per_byte"]),
            "range": 25600,
            "multiplier": 1.2,
        },
        "maxBlockBodySize": {"bytes": m["max_block_size"]},
        "maxBlockHeaderSize": {"bytes": m["max_block_header_size"]},
        "maxTransactionSize": {"bytes": m["max_tx_size"]},
        "maxReferenceScriptsSize": {"bytes": 204800},
        "stakeCredentialDeposit": ada(m["key_deposit"]),
        "stakePoolDeposit": ada(m["pool_deposit"]),
        "stakePoolRetirementEpochBound": m["e_max"],
        "desiredNumberOfStakePools": m["n_opt"],
        "stakePoolPledgeInfluence": ratio(m["a0"]),
        "monetaryExpansion": ratio(m["rho"]),
        "treasuryExpansion": ratio(m["tau"]),
        "minStakePoolCost": ada(m["min_pool_cost"]),
        "minUtxoDepositConstant": ada(0),
        "minUtxoDepositCoefficient": int(m["coins_per_utxo_size"]),
        "plutusCostModels": {
            f"plutus:v{v}": m["cost_models_raw"][f"PlutusV{v}"] for v in (1, 2, 3)
        },
        "scriptExecutionPrices": {
            "memory": ratio(m["price_mem"]),
            "cpu": ratio(m["price_step"]),
        },
        "maxExecutionUnitsPerTransaction": {
            "memory": int(m["max_tx_ex_mem"]),
            "cpu": int(m["max_tx_ex_steps"]),
        },
        "maxExecutionUnitsPerBlock": {
            "memory": int(m["max_block_ex_mem"]),
            "cpu": int(m["max_block_ex_steps"]),
        },
        "maxValueSize": {"bytes": int(m["max_val_size"])},
        "collateralPercentage": m["collateral_percent"],
        "maxCollateralInputs": m["max_collateral_inputs"],
        "version": {"major": m["protocol_major_ver"], "minor": m["protocol_minor_ver"]},
    }
    assert_schema(params, "ProtocolParameters")
    return params


def signing_key(name: str) -> PaymentSigningKey:
    return PaymentSigningKey(hashlib.blake2b(name.encode(), digest_size=32).digest())


def address_of(key: PaymentSigningKey) -> Address:
    return Address(
        PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET
    )


class InMemoryChain:
    """A ChainBackend holding facts (parameters, UTxOs, tip). No ledger rules: the tests check those."""

    def __init__(
        self, utxos: Sequence[Utxo], params: dict[str, Any] | None = None
    ) -> None:
        self.utxos = list(utxos)
        self.params_json = params if params is not None else mainnet_in_ogmios_shape()
        self.genesis_json: dict[str, Any] | None = None
        self.submitted: list[bytes] = []
        self.evaluation = Evaluation(())

    def tip(self) -> Tip:
        return Tip(slot=5000, block_hash="ab" * 32)

    def epoch(self) -> int:
        return 616

    def protocol_parameters(self) -> Any:
        return codec.parse_protocol_parameters(self.params_json)

    def era_summaries(self) -> Any:
        return ()

    def genesis_configuration(self, era: str) -> Any:
        assert self.genesis_json is not None and self.genesis_json["era"] == era
        return codec.parse_genesis_configuration(self.genesis_json)

    def start_time(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=timezone.utc)

    def utxos_at(self, addresses: Sequence[str]) -> list[Utxo]:
        return [u for u in self.utxos if u.address in addresses]

    def utxos_by_refs(self, refs: Sequence[OutputReference]) -> list[Utxo]:
        return [u for u in self.utxos if u.ref in refs]

    def evaluate(
        self, tx_cbor: bytes, additional_utxo: Sequence[Utxo] = ()
    ) -> Evaluation:
        return self.evaluation

    def submit(self, tx_cbor: bytes) -> SubmitResult:
        self.submitted.append(tx_cbor)
        return SubmitResult(str(Transaction.from_cbor(tx_cbor).id))

    def in_mempool(self, tx_id: str) -> bool:
        return False

    def datum(self, datum_hash: str) -> bytes | None:
        return None

    def script(self, script_hash: str) -> Script | None:
        return None

    def wait_for_slot_indexed(self, slot: int, deadline: float) -> int:
        return slot


def test_both_backends_satisfy_the_chain_backend_protocol() -> None:
    assert isinstance(InMemoryChain([]), ChainBackend)
    remote = OgmiosKupoBackend(
        OgmiosClient(lambda m, p: {}), KupoClient("http://kupo.test")
    )
    assert isinstance(remote, ChainBackend)
    remote.close()


def test_protocol_parameters_reach_pycardano_exactly() -> None:
    pp = OgmiosKupoContext(InMemoryChain([])).protocol_param
    m = MAINNET
    assert (pp.min_fee_coefficient, pp.min_fee_constant) == (
        m["min_fee_a"],
        m["min_fee_b"],
    )
    assert (pp.max_tx_size, pp.max_val_size) == (
        m["max_tx_size"],
        int(m["max_val_size"]),
    )
    assert pp.coins_per_utxo_byte == int(m["coins_per_utxo_size"])
    assert (pp.price_mem, pp.price_step) == (
        Fraction(str(m["price_mem"])),
        Fraction(str(m["price_step"])),
    )
    assert (pp.max_tx_ex_mem, pp.max_tx_ex_steps) == (
        int(m["max_tx_ex_mem"]),
        int(m["max_tx_ex_steps"]),
    )
    assert (pp.collateral_percent, pp.key_deposit) == (
        m["collateral_percent"],
        int(m["key_deposit"]),
    )
    assert pp.min_fee_reference_scripts == {
        "base": float(m["min_fee_ref_script_cost_per_byte"]),
        "range": 25600,
        "multiplier": 1.2,
    }


def test_cost_models_keep_the_ledger_order_in_the_script_data_hash_preimage() -> None:
    """The script-integrity hash covers the cost models: pycardano must serialise the raw lists."""
    pp = OgmiosKupoContext(InMemoryChain([])).protocol_param
    models = CostModels(
        {0: pp.cost_models["PlutusV1"], 2: pp.cost_models["PlutusV3"]}
    ).to_shallow_primitive()
    assert models[2] == MAINNET["cost_models_raw"]["PlutusV3"]
    assert (
        list(cbor2.loads(models[cbor2.dumps(0)]))
        == MAINNET["cost_models_raw"]["PlutusV1"]
    )


def test_builder_pays_at_least_the_ledger_minimum_fee_and_conserves_value() -> None:
    alice, bob = signing_key("alice"), signing_key("bob")
    funds = [
        Utxo(
            OutputReference("11" * 32, 0),
            str(address_of(alice)),
            Value(20_000_000, {POLICY: {"6d73": 40}}),
        ),
        Utxo(OutputReference("22" * 32, 3), str(address_of(alice)), Value(3_000_000)),
    ]
    chain = InMemoryChain(funds)
    context = OgmiosKupoContext(chain)
    builder = TransactionBuilder(context)
    builder.add_input_address(address_of(alice))
    builder.add_output(
        TransactionOutput(
            address_of(bob),
            PyValue.from_primitive([5_000_000, {bytes.fromhex(POLICY): {b"ms": 15}}]),
        )
    )
    tx = builder.build_and_sign([alice], change_address=address_of(alice))

    body = tx.transaction_body
    assert (
        body.fee >= MAINNET["min_fee_a"] * len(tx.to_cbor()) + MAINNET["min_fee_b"]
    )  # Shelley min-fee rule
    spent = {(i.transaction_id.payload.hex(), i.index) for i in body.inputs}
    consumed = sum(
        (
            to_pycardano_utxo(u).output.amount
            for u in funds
            if (u.ref.tx_id, u.ref.index) in spent
        ),
        PyValue(0),
    )
    produced = sum((o.amount for o in body.outputs), PyValue(0)) + body.fee
    assert PyValue.from_primitive(consumed.to_primitive()) == PyValue.from_primitive(
        produced.to_primitive()
    )

    tx_id = context.submit_tx(tx)
    assert chain.submitted == [tx.to_cbor()] and tx_id == str(tx.id)


def test_utxo_conversion_keeps_inline_datum_script_and_assets() -> None:
    plutus = bytes.fromhex("450100002261")
    utxo = Utxo(
        OutputReference("33" * 32, 7),
        str(address_of(signing_key("carol"))),
        Value(2_000_000, {POLICY: {"": 1, "6d73": 9}}),
        datum=bytes.fromhex("d8799f01ff"),
        script=Script("plutus:v3", plutus),
    )
    converted = to_pycardano_utxo(utxo)
    assert (str(converted.input.transaction_id), converted.input.index) == (
        "33" * 32,
        7,
    )
    output = converted.output
    assert output.datum.cbor == bytes.fromhex("d8799f01ff")
    assert (
        plutus_script_hash(output.script).payload
        == hashlib.blake2b(b"\x03" + plutus, digest_size=28).digest()
    )
    assert output.amount.coin == 2_000_000
    assert {
        k.payload: v
        for k, v in output.amount.multi_asset[
            next(iter(output.amount.multi_asset))
        ].items()
    } == {b"": 1, b"ms": 9}


def test_hashed_datum_stays_a_hash() -> None:
    utxo = Utxo(
        OutputReference("44" * 32, 0),
        str(address_of(signing_key("dave"))),
        Value(1_000_000),
        datum_hash="be" * 32,
    )
    output = to_pycardano_utxo(utxo).output
    assert (
        output.datum_hash.payload == bytes.fromhex("be" * 32) and output.datum is None
    )


def test_evaluation_keys_match_the_transaction_builder_redeemer_tags() -> None:
    units = ExecutionUnits(memory=10, cpu=20)
    purposes = ["spend", "mint", "publish", "withdraw", "vote", "propose"]
    budgets = to_pycardano_budgets(
        RedeemerBudget(p, i, units) for i, p in enumerate(purposes)
    )
    expected = {
        f"{tag.name.lower()}:{i}"
        for i, tag in enumerate(
            [
                RedeemerTag.SPEND,
                RedeemerTag.MINT,
                RedeemerTag.CERTIFICATE,
                RedeemerTag.WITHDRAWAL,
                RedeemerTag.VOTING,
                RedeemerTag.PROPOSING,
            ]
        )
    }
    assert set(budgets) == expected
    assert {(b.mem, b.steps) for b in budgets.values()} == {(10, 20)}
    with pytest.raises(ProtocolError, match="certify"):
        to_pycardano_budgets([RedeemerBudget("certify", 0, units)])


def test_shelley_genesis_becomes_pycardano_genesis_parameters() -> None:
    genesis = {
        "era": "shelley",
        "startTime": "2022-10-25T00:00:00Z",
        "networkMagic": 2,
        "network": "testnet",
        "activeSlotsCoefficient": "1/20",
        "securityParameter": 432,
        "epochLength": 86400,
        "slotsPerKesPeriod": 129600,
        "maxKesEvolutions": 62,
        "slotLength": {"milliseconds": 1000},
        "updateQuorum": 5,
        "maxLovelaceSupply": 45000000000000000,
        "initialParameters": mainnet_in_ogmios_shape(),
        "initialDelegates": [],
        "initialFunds": {},
        "initialStakePools": {"stakePools": {}, "delegators": {}},
    }
    assert_schema(genesis, "Genesis<Shelley>")
    chain = InMemoryChain([])
    chain.genesis_json = genesis
    params = OgmiosKupoContext(chain).genesis_param
    assert params.system_start == int(
        datetime(2022, 10, 25, tzinfo=timezone.utc).timestamp()
    )
    assert (params.active_slots_coefficient, params.slot_length) == (Fraction(1, 20), 1)
    assert (params.network_magic, params.epoch_length, params.security_param) == (
        2,
        86400,
        432,
    )


def test_parameters_without_alonzo_fields_are_a_clear_protocol_error() -> None:
    params = copy.deepcopy(mainnet_in_ogmios_shape())
    del params["scriptExecutionPrices"], params["maxValueSize"]
    with pytest.raises(ProtocolError, match="script_execution_prices") as caught:
        _ = OgmiosKupoContext(InMemoryChain([], params)).protocol_param
    assert "max_value_size" in caught.value.message


def test_byron_address_is_refused_with_a_hint() -> None:
    byron = "DdzFFzCqrhsnWCKDVxHipmLW7acroB11zWxe1BGP1gCh7EqmgjVPe2qes6HrsQs"
    with pytest.raises(ProtocolError) as caught:
        to_pycardano_utxo(Utxo(OutputReference("55" * 32, 0), byron, Value(1)))
    assert caught.value.hint and "bech32" in caught.value.hint
