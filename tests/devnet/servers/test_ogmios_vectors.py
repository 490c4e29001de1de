"""The Ogmios codec reads every relevant Ogmios v6.14 test vector correctly.

Vectors come from Ogmios' own test suite (shared/reference/ogmios/vectors); values are
random but shapes are real. Successes must parse into dataclasses whose fields equal
the vector's JSON; errors must become the right error class carrying the vector's code.
Each file is its own test case, so a failure names the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from runner.chain import ogmios_codec as codec
from runner.chain.backend import (
    AlonzoGenesis,
    EraSummary,
    Evaluation,
    ProtocolParameters,
    SubmitResult,
    Tip,
    Utxo,
)
from runner.chain.ogmios import encode_request
from runner.errors import LedgerRejection, ProtocolError, ScriptFailure

VECTORS = (
    Path(__file__).resolve().parents[4] / "shared" / "reference" / "ogmios" / "vectors"
)
if not VECTORS.is_dir():  # the repository may be checked out elsewhere than /work/main
    VECTORS = Path("/work/shared/reference/ogmios/vectors")

RESPONSE_DIRS = (
    "QueryNetworkTip",
    "QueryLedgerStateTip",
    "QueryLedgerStateEpoch",
    "QueryLedgerStateProtocolParameters",
    "QueryLedgerStateEraSummaries",
    "QueryNetworkGenesisConfiguration",
    "QueryNetworkStartTime",
    "QueryLedgerStateUtxo",
    "EvaluateTransactionResponse",
    "SubmitTransactionResponse",
    "HasTransactionResponse",
    "AcquireMempoolResponse",
    "ReleaseMempoolResponse",
)
REQUEST_DIRS = ("HasTransaction", "AcquireMempool", "ReleaseMempoolRequest")


def _files(dirs: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(p, id=f"{p.parent.name}/{p.name}")
        for d in dirs
        for p in sorted((VECTORS / d).glob("*.json"))
    ]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _ratio(text: str) -> Fraction:
    num, den = text.split("/")
    return Fraction(int(num), int(den))


def _lovelace(obj: dict[str, Any]) -> int:
    return int(obj["ada"]["lovelace"])


# ------------------------------------------------------------------ per-shape checks


def check_tip(tip: Tip, result: Any) -> None:
    assert (tip.slot, tip.block_hash) == (result["slot"], result["id"])


def check_epoch(epoch: int, result: Any) -> None:
    assert epoch == result


def check_start_time(parsed: Any, result: str) -> None:
    date, clock = result.rstrip("Z").split("T")
    hms, _, frac = clock.partition(".")
    assert parsed.strftime("%Y-%m-%dT%H:%M:%S") == f"{date}T{hms}"
    assert parsed.microsecond == int((frac or "0")[:6].ljust(6, "0"))
    assert parsed.utcoffset().total_seconds() == 0


def check_value(value: Any, raw: dict[str, Any]) -> None:
    assert value.lovelace == _lovelace(raw)
    assert value.assets == {k: v for k, v in raw.items() if k != "ada"}


def check_utxos(utxos: list[Utxo], result: list[dict[str, Any]]) -> None:
    assert len(utxos) == len(result)
    for utxo, raw in zip(utxos, result):
        assert (utxo.ref.tx_id, utxo.ref.index, utxo.address) == (
            raw["transaction"]["id"],
            raw["index"],
            raw["address"],
        )
        check_value(utxo.value, raw["value"])
        assert utxo.datum_hash == raw.get("datumHash")
        assert (utxo.datum.hex() if utxo.datum is not None else None) == raw.get(
            "datum"
        )
        if "script" in raw:
            assert utxo.script is not None
            assert (utxo.script.language, utxo.script.cbor.hex()) == (
                raw["script"]["language"],
                raw["script"]["cbor"],
            )
        else:
            assert utxo.script is None
        # and the encoder writes the same object back (used for evaluate's additionalUtxo)
        expected = {k: v for k, v in raw.items() if k != "script"}
        if "script" in raw:
            expected["script"] = {
                "language": raw["script"]["language"],
                "cbor": raw["script"]["cbor"],
            }
        assert codec.encode_utxo(utxo) == expected


def check_protocol_parameters(pp: ProtocolParameters, r: dict[str, Any]) -> None:
    assert pp.min_fee_coefficient == r["minFeeCoefficient"]
    assert pp.min_fee_constant == _lovelace(r["minFeeConstant"])
    assert pp.min_utxo_deposit_coefficient == r["minUtxoDepositCoefficient"]
    assert pp.min_utxo_deposit_constant == _lovelace(r["minUtxoDepositConstant"])
    assert pp.max_block_body_size == r["maxBlockBodySize"]["bytes"]
    assert pp.max_block_header_size == r["maxBlockHeaderSize"]["bytes"]
    assert pp.max_transaction_size == r["maxTransactionSize"]["bytes"]
    assert pp.max_value_size == r["maxValueSize"]["bytes"]
    assert pp.max_reference_scripts_size == r["maxReferenceScriptsSize"]["bytes"]
    fee = r["minFeeReferenceScripts"]
    assert pp.min_fee_reference_scripts is not None
    assert (
        pp.min_fee_reference_scripts.base,
        pp.min_fee_reference_scripts.range,
        pp.min_fee_reference_scripts.multiplier,
    ) == (fee["base"], fee["range"], fee["multiplier"])
    assert pp.stake_credential_deposit == _lovelace(r["stakeCredentialDeposit"])
    assert pp.stake_pool_deposit == _lovelace(r["stakePoolDeposit"])
    assert pp.stake_pool_retirement_epoch_bound == r["stakePoolRetirementEpochBound"]
    assert pp.desired_number_of_stake_pools == r["desiredNumberOfStakePools"]
    assert pp.stake_pool_pledge_influence == _ratio(r["stakePoolPledgeInfluence"])
    assert pp.monetary_expansion == _ratio(r["monetaryExpansion"])
    assert pp.treasury_expansion == _ratio(r["treasuryExpansion"])
    assert pp.min_stake_pool_cost == _lovelace(r["minStakePoolCost"])
    assert dict(pp.plutus_cost_models) == {
        k: tuple(v) for k, v in r["plutusCostModels"].items()
    }
    assert pp.script_execution_prices is not None
    assert pp.script_execution_prices.memory == _ratio(
        r["scriptExecutionPrices"]["memory"]
    )
    assert pp.script_execution_prices.cpu == _ratio(r["scriptExecutionPrices"]["cpu"])
    for field, key in (
        ("max_execution_units_per_transaction", "maxExecutionUnitsPerTransaction"),
        ("max_execution_units_per_block", "maxExecutionUnitsPerBlock"),
    ):
        units = getattr(pp, field)
        assert (units.memory, units.cpu) == (r[key]["memory"], r[key]["cpu"])
    assert pp.collateral_percentage == r["collateralPercentage"]
    assert pp.max_collateral_inputs == r["maxCollateralInputs"]
    assert (pp.version.major, pp.version.minor) == (
        r["version"]["major"],
        r["version"]["minor"],
    )
    assert pp.governance_action_deposit == _lovelace(r["governanceActionDeposit"])
    assert pp.delegate_representative_deposit == _lovelace(
        r["delegateRepresentativeDeposit"]
    )
    assert pp.governance_action_lifetime == r["governanceActionLifetime"]
    assert (
        pp.delegate_representative_max_idle_time
        == r["delegateRepresentativeMaxIdleTime"]
    )
    assert pp.constitutional_committee_min_size == r["constitutionalCommitteeMinSize"]
    assert (
        pp.constitutional_committee_max_term_length
        == r["constitutionalCommitteeMaxTermLength"]
    )


def check_era_summaries(
    summaries: tuple[EraSummary, ...], result: list[dict[str, Any]]
) -> None:
    assert len(summaries) == len(result)
    for era, raw in zip(summaries, result):
        for bound, key in ((era.start, "start"), (era.end, "end")):
            if key not in raw:
                assert bound is None
                continue
            assert bound is not None
            assert (bound.time_seconds, bound.slot, bound.epoch) == (
                raw[key]["time"]["seconds"],
                raw[key]["slot"],
                raw[key]["epoch"],
            )
        params = raw["parameters"]
        assert (era.epoch_length, era.slot_length_ms, era.safe_zone) == (
            params["epochLength"],
            params["slotLength"]["milliseconds"],
            params["safeZone"],
        )


def check_genesis(genesis: Any, result: dict[str, Any]) -> None:
    assert result["era"] == "alonzo" and isinstance(genesis, AlonzoGenesis)
    p = result["updatableParameters"]
    assert genesis.min_utxo_deposit_coefficient == p["minUtxoDepositCoefficient"]
    assert genesis.collateral_percentage == p["collateralPercentage"]
    assert genesis.max_collateral_inputs == p["maxCollateralInputs"]
    assert genesis.max_value_size == p["maxValueSize"]["bytes"]
    assert dict(genesis.plutus_cost_models) == {
        k: tuple(v) for k, v in p["plutusCostModels"].items()
    }
    assert genesis.script_execution_prices.memory == _ratio(
        p["scriptExecutionPrices"]["memory"]
    )
    assert genesis.script_execution_prices.cpu == _ratio(
        p["scriptExecutionPrices"]["cpu"]
    )
    assert (
        genesis.max_execution_units_per_block.cpu
        == p["maxExecutionUnitsPerBlock"]["cpu"]
    )
    assert (
        genesis.max_execution_units_per_transaction.memory
        == p["maxExecutionUnitsPerTransaction"]["memory"]
    )


def check_evaluation(evaluation: Evaluation, result: list[dict[str, Any]]) -> None:
    assert [
        (r.purpose, r.index, r.budget.memory, r.budget.cpu)
        for r in evaluation.redeemers
    ] == [
        (
            x["validator"]["purpose"],
            x["validator"]["index"],
            x["budget"]["memory"],
            x["budget"]["cpu"],
        )
        for x in result
    ]


def check_submit(submitted: SubmitResult, result: dict[str, Any]) -> None:
    assert submitted.tx_id == result["transaction"]["id"]


def check_has_transaction(found: bool, result: bool) -> None:
    assert found is result


def check_acquire(slot: int, result: dict[str, Any]) -> None:
    assert slot == result["slot"]


def check_release(released: None, result: dict[str, Any]) -> None:
    assert released is None and result == {"released": "mempool"}


PARSERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], None]]] = {
    "queryNetwork/tip": (codec.parse_tip, check_tip),
    "queryLedgerState/tip": (codec.parse_tip, check_tip),
    "queryLedgerState/epoch": (codec.parse_epoch, check_epoch),
    "queryLedgerState/protocolParameters": (
        codec.parse_protocol_parameters,
        check_protocol_parameters,
    ),
    "queryLedgerState/eraSummaries": (codec.parse_era_summaries, check_era_summaries),
    "queryNetwork/genesisConfiguration": (
        codec.parse_genesis_configuration,
        check_genesis,
    ),
    "queryNetwork/startTime": (codec.parse_start_time, check_start_time),
    "queryLedgerState/utxo": (codec.parse_utxos, check_utxos),
    "evaluateTransaction": (codec.parse_evaluation, check_evaluation),
    "submitTransaction": (codec.parse_submit, check_submit),
    "hasTransaction": (codec.parse_has_transaction, check_has_transaction),
    "acquireMempool": (codec.parse_acquire_mempool, check_acquire),
    "releaseMempool": (codec.parse_release_mempool, check_release),
}


def expected_error_class(method: str, code: int) -> type[Exception]:
    """The classification rule, stated independently of the codec's tables."""
    if method in ("submitTransaction", "evaluateTransaction"):
        if code in (3010, 3011, 3012, 3013, 3161):
            return ScriptFailure
        if 3000 <= code <= 3999 or code == -32602:
            return LedgerRejection
    return ProtocolError


@pytest.mark.parametrize("path", _files(RESPONSE_DIRS))
def test_response_vector_parses_to_its_json_values(path: Path) -> None:
    """Every success becomes a dataclass equal to the JSON; every error the right error class."""
    vector = _load(path)
    method = vector["method"]
    parse, check = PARSERS[method]
    if "error" in vector:
        error = vector["error"]
        cls = expected_error_class(method, error["code"])
        with pytest.raises(cls) as caught:
            codec.result_of(vector, method)
        assert type(caught.value) is cls
        if cls is ProtocolError:
            assert str(error["code"]) in caught.value.message
        else:
            assert caught.value.ogmios_code == error["code"]
            assert caught.value.data == error.get("data")
            assert caught.value.to_dict()["ogmios_code"] == error["code"]
    else:
        check(parse(codec.result_of(vector, method)), vector["result"])


@pytest.mark.parametrize("path", _files(RESPONSE_DIRS[:3]))
def test_answer_to_another_method_is_a_protocol_error(path: Path) -> None:
    """A response that does not echo the request's method is refused, whatever it holds."""
    vector = _load(path)
    with pytest.raises(ProtocolError, match="answered method"):
        codec.result_of(vector, "queryLedgerState/utxo")


@pytest.mark.parametrize("path", _files(REQUEST_DIRS))
def test_requests_are_encoded_exactly_like_ogmios_vectors(path: Path) -> None:
    vector = _load(path)
    assert (
        encode_request(vector["method"], vector.get("params"), vector["id"]) == vector
    )


def test_every_listed_vector_directory_is_present_and_non_empty() -> None:
    """Guard: a moved reference folder must fail loudly, not parametrise zero cases."""
    for name in RESPONSE_DIRS + REQUEST_DIRS:
        assert list((VECTORS / name).glob("*.json")), f"no vectors in {VECTORS / name}"
