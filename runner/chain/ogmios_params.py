"""Ogmios v6.14 protocol parameters and genesis configurations -> dataclasses.

Kept apart from the rest of the codec because it is the longest shape and the one
whose exactness matters most: fees are computed from these numbers, so ratios stay
``Fraction`` and cost models keep Ogmios' raw order (the script-data hash depends on it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runner.chain.backend import (
    AlonzoGenesis,
    ByronGenesis,
    ConwayGenesis,
    ExecutionPrices,
    ExecutionUnits,
    GenesisConfiguration,
    ProtocolParameters,
    ProtocolVersion,
    ReferenceScriptsFee,
    ShelleyGenesis,
)
from runner.chain.ogmios_shapes import (
    as_list,
    as_obj,
    fraction,
    integer,
    lovelace_of,
    number,
    parsing,
    size_of,
    text,
    utc_time,
)


def execution_units(raw: Any, path: str) -> ExecutionUnits:
    obj = as_obj(raw, path)
    return ExecutionUnits(
        memory=integer(obj["memory"], f"{path}.memory"),
        cpu=integer(obj["cpu"], f"{path}.cpu"),
    )


def execution_prices(raw: Any, path: str) -> ExecutionPrices:
    obj = as_obj(raw, path)
    return ExecutionPrices(
        memory=fraction(obj["memory"], f"{path}.memory"),
        cpu=fraction(obj["cpu"], f"{path}.cpu"),
    )


def cost_models(raw: Any, path: str) -> dict[str, tuple[int, ...]]:
    """``{"plutus:v3": [n, ...]}`` in Ogmios' (the ledger's) parameter order."""
    out: dict[str, tuple[int, ...]] = {}
    for language, costs in as_obj(raw, path).items():
        where = f"{path}.{text(language, f'{path} key')}"
        out[language] = tuple(
            integer(c, f"{where}[{i}]", signed=True)
            for i, c in enumerate(as_list(costs, where))
        )
    return out


def _ada(obj: Mapping[str, Any], key: str) -> int:
    return lovelace_of(as_obj(obj[key], f"$.{key}"), f"$.{key}")


def _optional(obj: Mapping[str, Any], key: str, read: Any) -> Any:
    return read(obj[key], f"$.{key}") if obj.get(key) is not None else None


def _version(raw: Any) -> ProtocolVersion:
    obj = as_obj(raw, "$.version")
    patch = integer(obj["patch"], "$.version.patch") if "patch" in obj else None
    return ProtocolVersion(
        integer(obj["major"], "$.version.major"),
        integer(obj["minor"], "$.version.minor"),
        patch,
    )


def _reference_fee(raw: Any, path: str) -> ReferenceScriptsFee:
    obj = as_obj(raw, path)
    return ReferenceScriptsFee(
        base=number(obj["base"], f"{path}.base"),
        range=integer(obj["range"], f"{path}.range"),
        multiplier=number(obj["multiplier"], f"{path}.multiplier"),
    )


def _entropy(raw: Any, path: str) -> str:
    return text(raw, path)


@parsing("protocol parameters")
def parse_protocol_parameters(result: Any) -> ProtocolParameters:
    p = as_obj(result, "$")
    deposit_or_none = {
        key: (_ada(p, key) if p.get(key) is not None else None)
        for key in ("governanceActionDeposit", "delegateRepresentativeDeposit")
    }
    return ProtocolParameters(
        min_fee_coefficient=integer(p["minFeeCoefficient"], "$.minFeeCoefficient"),
        min_fee_constant=_ada(p, "minFeeConstant"),
        min_utxo_deposit_coefficient=integer(
            p["minUtxoDepositCoefficient"], "$.minUtxoDepositCoefficient"
        ),
        min_utxo_deposit_constant=_ada(p, "minUtxoDepositConstant"),
        max_block_body_size=size_of(p["maxBlockBodySize"], "$.maxBlockBodySize"),
        max_block_header_size=size_of(p["maxBlockHeaderSize"], "$.maxBlockHeaderSize"),
        stake_credential_deposit=_ada(p, "stakeCredentialDeposit"),
        stake_pool_deposit=_ada(p, "stakePoolDeposit"),
        stake_pool_retirement_epoch_bound=integer(
            p["stakePoolRetirementEpochBound"], "$.stakePoolRetirementEpochBound"
        ),
        stake_pool_pledge_influence=fraction(
            p["stakePoolPledgeInfluence"], "$.stakePoolPledgeInfluence"
        ),
        min_stake_pool_cost=_ada(p, "minStakePoolCost"),
        monetary_expansion=fraction(p["monetaryExpansion"], "$.monetaryExpansion"),
        treasury_expansion=fraction(p["treasuryExpansion"], "$.treasuryExpansion"),
        desired_number_of_stake_pools=integer(
            p["desiredNumberOfStakePools"], "$.desiredNumberOfStakePools"
        ),
        version=_version(p["version"]),
        max_transaction_size=_optional(p, "maxTransactionSize", size_of),
        max_value_size=_optional(p, "maxValueSize", size_of),
        max_reference_scripts_size=_optional(p, "maxReferenceScriptsSize", size_of),
        min_fee_reference_scripts=_optional(
            p, "minFeeReferenceScripts", _reference_fee
        ),
        extra_entropy=_optional(p, "extraEntropy", _entropy),
        federated_block_production_ratio=_optional(
            p, "federatedBlockProductionRatio", fraction
        ),
        plutus_cost_models=cost_models(p["plutusCostModels"], "$.plutusCostModels")
        if "plutusCostModels" in p
        else {},
        script_execution_prices=_optional(p, "scriptExecutionPrices", execution_prices),
        max_execution_units_per_transaction=_optional(
            p, "maxExecutionUnitsPerTransaction", execution_units
        ),
        max_execution_units_per_block=_optional(
            p, "maxExecutionUnitsPerBlock", execution_units
        ),
        collateral_percentage=_optional(p, "collateralPercentage", integer),
        max_collateral_inputs=_optional(p, "maxCollateralInputs", integer),
        governance_action_deposit=deposit_or_none["governanceActionDeposit"],
        governance_action_lifetime=_optional(p, "governanceActionLifetime", integer),
        delegate_representative_deposit=deposit_or_none[
            "delegateRepresentativeDeposit"
        ],
        delegate_representative_max_idle_time=_optional(
            p, "delegateRepresentativeMaxIdleTime", integer
        ),
        constitutional_committee_min_size=_optional(
            p, "constitutionalCommitteeMinSize", integer
        ),
        constitutional_committee_max_term_length=_optional(
            p, "constitutionalCommitteeMaxTermLength", integer
        ),
    )


def _alonzo(obj: Mapping[str, Any]) -> AlonzoGenesis:
    p = as_obj(obj["updatableParameters"], "$.updatableParameters")
    path = "$.updatableParameters"
    return AlonzoGenesis(
        min_utxo_deposit_coefficient=integer(
            p["minUtxoDepositCoefficient"], f"{path}.minUtxoDepositCoefficient"
        ),
        collateral_percentage=integer(
            p["collateralPercentage"], f"{path}.collateralPercentage"
        ),
        plutus_cost_models=cost_models(
            p["plutusCostModels"], f"{path}.plutusCostModels"
        ),
        max_collateral_inputs=integer(
            p["maxCollateralInputs"], f"{path}.maxCollateralInputs"
        ),
        max_execution_units_per_block=execution_units(
            p["maxExecutionUnitsPerBlock"], f"{path}.maxExecutionUnitsPerBlock"
        ),
        max_execution_units_per_transaction=execution_units(
            p["maxExecutionUnitsPerTransaction"],
            f"{path}.maxExecutionUnitsPerTransaction",
        ),
        max_value_size=integer(
            as_obj(p["maxValueSize"], f"{path}.maxValueSize")["bytes"],
            f"{path}.maxValueSize.bytes",
        ),
        script_execution_prices=execution_prices(
            p["scriptExecutionPrices"], f"{path}.scriptExecutionPrices"
        ),
    )


def _shelley(obj: Mapping[str, Any]) -> ShelleyGenesis:
    return ShelleyGenesis(
        start_time=utc_time(obj["startTime"], "$.startTime"),
        network_magic=integer(obj["networkMagic"], "$.networkMagic"),
        network=text(obj["network"], "$.network"),
        active_slots_coefficient=fraction(
            obj["activeSlotsCoefficient"], "$.activeSlotsCoefficient"
        ),
        security_parameter=integer(obj["securityParameter"], "$.securityParameter"),
        epoch_length=integer(obj["epochLength"], "$.epochLength"),
        slots_per_kes_period=integer(obj["slotsPerKesPeriod"], "$.slotsPerKesPeriod"),
        max_kes_evolutions=integer(obj["maxKesEvolutions"], "$.maxKesEvolutions"),
        slot_length_ms=integer(
            as_obj(obj["slotLength"], "$.slotLength")["milliseconds"],
            "$.slotLength.milliseconds",
        ),
        update_quorum=integer(obj["updateQuorum"], "$.updateQuorum"),
        max_lovelace_supply=integer(obj["maxLovelaceSupply"], "$.maxLovelaceSupply"),
    )


def _byron(obj: Mapping[str, Any]) -> ByronGenesis:
    return ByronGenesis(
        start_time=utc_time(obj["startTime"], "$.startTime"),
        network_magic=integer(obj["networkMagic"], "$.networkMagic"),
        security_parameter=integer(obj["securityParameter"], "$.securityParameter"),
    )


def _conway(obj: Mapping[str, Any]) -> ConwayGenesis:
    p = as_obj(obj["updatableParameters"], "$.updatableParameters")
    path = "$.updatableParameters"
    return ConwayGenesis(
        governance_action_lifetime=integer(
            p["governanceActionLifetime"], f"{path}.governanceActionLifetime"
        ),
        governance_action_deposit=lovelace_of(
            as_obj(p["governanceActionDeposit"], f"{path}.governanceActionDeposit"),
            f"{path}.governanceActionDeposit",
        ),
        delegate_representative_deposit=lovelace_of(
            as_obj(
                p["delegateRepresentativeDeposit"],
                f"{path}.delegateRepresentativeDeposit",
            ),
            f"{path}.delegateRepresentativeDeposit",
        ),
        delegate_representative_max_idle_time=integer(
            p["delegateRepresentativeMaxIdleTime"],
            f"{path}.delegateRepresentativeMaxIdleTime",
        ),
        constitutional_committee_min_size=integer(
            p["constitutionalCommitteeMinSize"],
            f"{path}.constitutionalCommitteeMinSize",
        ),
        constitutional_committee_max_term_length=integer(
            p["constitutionalCommitteeMaxTermLength"],
            f"{path}.constitutionalCommitteeMaxTermLength",
        ),
    )


_GENESIS: Mapping[str, Callable[[Mapping[str, Any]], GenesisConfiguration]] = {
    "byron": _byron,
    "shelley": _shelley,
    "alonzo": _alonzo,
    "conway": _conway,
}


@parsing("genesis configuration")
def parse_genesis_configuration(result: Any) -> GenesisConfiguration:
    obj = as_obj(result, "$")
    era = text(obj["era"], "$.era")
    if era not in _GENESIS:
        raise ValueError(f"$.era: no genesis configuration for era {era!r}")
    return _GENESIS[era](obj)
