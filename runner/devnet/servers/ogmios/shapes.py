"""Ledger objects -> the JSON shapes Ogmios v6.14 and Kupo v2.12 put on the wire.

Pure functions, no I/O: the servers call them under the ledger lock and the tests check
their output against the vendored schemas (``shared/reference/ogmios``, Kupo's OpenAPI).
Kept apart from the servers so a shape can be checked without a socket, and so the
project's own Ogmios/Kupo client has one place that says what the wire looks like.

Epochs: pycardano's Ogmios client treats epoch 0 as an error, so the devnet numbers its
first epoch 1. The era summaries carry that step inside the (empty) Babbage era, so the
usual hard-fork arithmetic over them (``start.epoch + (slot - start.slot) // epochLength``)
agrees with ``queryLedgerState/epoch``. Epoch numbering and the summaries live in
``clock.py`` (one source of truth for the ledger and the server).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from hashlib import blake2b
from typing import Any

from pycardano import (
    Address,
    DatumHash,
    MultiAsset,
    NativeScript,
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    TransactionInput,
    TransactionOutput,
    Value,
)
from pycardano.plutus import script_hash as _script_hash

from runner.devnet.ledger.clock import ERAS
from runner.devnet.ledger.json_codec import datum_cbor

Json = dict[str, Any]

#: cardano-node's mempool capacity is twice the block body size.
MEMPOOL_CAPACITY_FACTOR = 2
#: Conway ref-script fee tiers (cardano-ledger constants, not protocol parameters).
REF_SCRIPT_TIER_BYTES = 25 * 1024
REF_SCRIPT_TIER_MULTIPLIER = 1.2
MAX_REF_SCRIPTS_SIZE_PER_TX = 200 * 1024
#: A devnet runs no pools: the security parameter only shapes the safe zone.
SECURITY_PARAMETER = 2160
ACTIVE_SLOTS_COEFFICIENT = "1/20"
NETWORK_MAGIC = 42
GUARDRAILS_SCRIPT_HASH = "fa24fb305126805cf2164c161d852a0e7330cf988f1fe558cf7d4a64"


@dataclass(frozen=True)
class ChainPoint:
    """Where the devnet's chain is: the slot and hash of its newest block, and its height."""

    slot: int
    block_hash: str
    height: int


# --- numbers -----------------------------------------------------------------------

def ratio(value: Any) -> str:
    """An exact "a/b" string (cardano.json ``Ratio``) from a Fraction, number or "a/b"."""
    if isinstance(value, str) and "/" in value:
        num, den = value.split("/", 1)
        frac = Fraction(int(num), int(den))
    elif isinstance(value, Fraction):
        frac = value
    else:
        frac = Fraction(str(value))  # repr, not binary: 0.0577 -> 577/10000
    return f"{frac.numerator}/{frac.denominator}"


def lovelace(amount: int) -> Json:
    return {"ada": {"lovelace": int(amount)}}


# --- values, datums, scripts, outputs ------------------------------------------------

def _multi_asset(amount: int | Value) -> MultiAsset:
    return amount.multi_asset if isinstance(amount, Value) else MultiAsset()


def _coin(amount: int | Value) -> int:
    return int(amount.coin) if isinstance(amount, Value) else int(amount)


def kupo_value(amount: int | Value) -> Json:
    """Kupo ``Value``: ``{"coins": n, "assets": {"<policy>.<name>": q}}`` (bare policy if no name)."""
    assets: dict[str, int] = {}
    for policy, names in _multi_asset(amount).items():
        for name, qty in names.items():
            key = policy.payload.hex() + (f".{name.payload.hex()}" if name.payload else "")
            assets[key] = int(qty)
    return {"coins": _coin(amount), "assets": assets}


@functools.lru_cache(maxsize=65536)
def _bech32_of(raw: bytes) -> str:
    return str(Address.from_primitive(raw))


def address_bytes(address: Address) -> bytes:
    return bytes(address.to_primitive())


def address_text(address: Address) -> str:
    """The bech32 text of an address, cached: pycardano re-encodes bech32 on every str()."""
    return _bech32_of(address_bytes(address))


def blake2b_256(data: bytes) -> str:
    return blake2b(data, digest_size=32).hexdigest()


def blake2b_224(data: bytes) -> str:
    return blake2b(data, digest_size=28).hexdigest()


def script_language(script: Any) -> str:
    if isinstance(script, NativeScript):
        return "native"
    if isinstance(script, PlutusV3Script):
        return "plutus:v3"
    if isinstance(script, PlutusV2Script):
        return "plutus:v2"
    if isinstance(script, PlutusV1Script):
        return "plutus:v1"
    raise TypeError(f"not a script: {type(script).__name__}")


def script_bytes(script: Any) -> bytes:
    """The script as Ogmios' ``cbor`` / Kupo's ``script`` field carry it (flat CBOR bytes for Plutus)."""
    if isinstance(script, NativeScript):
        return bytes(script.to_cbor())
    return bytes(script)


def script_hash_hex(script: Any) -> str:
    return bytes(_script_hash(script).payload).hex()


def output_datum(output: TransactionOutput) -> tuple[str | None, bytes | None]:
    """(datum hash hex, inline datum CBOR) of an output; both None without a datum."""
    if output.datum is not None:
        raw = datum_cbor(output.datum)
        return blake2b_256(raw), raw
    if output.datum_hash is not None:
        return DatumHash(output.datum_hash.payload).payload.hex(), None
    return None, None


# --- chain position and time -----------------------------------------------------------

def tip(point: ChainPoint) -> Json | str:
    """cardano.json ``Tip`` (queryNetwork/tip uses ``point``): "origin" before any block."""
    if point.height == 0 and not point.block_hash:
        return "origin"
    return {"slot": point.slot, "id": point.block_hash, "height": point.height}


def point(chain: ChainPoint) -> Json | str:
    """ogmios.json ``PointOrOrigin``: exactly ``{slot, id}`` (pycardano checks the key set)."""
    if chain.height == 0 and not chain.block_hash:
        return "origin"
    return {"slot": chain.slot, "id": chain.block_hash}


def utc_time(posix_ms: int) -> str:
    moment = datetime.fromtimestamp(posix_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- errors ---------------------------------------------------------------------------

def rpc_error(code: int, message: str, data: Any = None) -> Json:
    error: Json = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return error


def deserialisation_failure(reason: str) -> Json:
    """ogmios.json ``DeserialisationFailure`` (-32602): one reason per era, as Ogmios lists them."""
    return rpc_error(-32602, "Invalid transaction; it looks like the given transaction wasn't "
                             "well-formed. Note that I try to decode the transaction in every "
                             "possible era and it was malformed in ALL eras. Yet, I can't pinpoint "
                             "the exact issue for I do not know in which era / format you intended "
                             "the transaction to be. The 'data' field, therefore, contains errors "
                             "for each era.",
                     {era: reason for era in ERAS[1:]})


def sorted_utxo(
    entries: Iterable[tuple[TransactionInput, TransactionOutput]],
) -> list[tuple[TransactionInput, TransactionOutput]]:
    """Ledger order (transaction id, then index), so answers are stable across calls."""
    return sorted(entries, key=lambda e: (e[0].transaction_id.payload, int(e[0].index)))




# --- protocol parameters and genesis configurations -------------------------------------

def _bytes(n: Any) -> Json:
    return {"bytes": int(n)}


def _units(memory: Any, cpu: Any) -> Json:
    return {"memory": int(memory), "cpu": int(cpu)}


def _pool_thresholds(raw: Mapping[str, Any]) -> Json:
    return {
        "noConfidence": ratio(raw["pvt_motion_no_confidence"]),
        "constitutionalCommittee": {"default": ratio(raw["pvt_committee_normal"]),
                                    "stateOfNoConfidence": ratio(raw["pvt_committee_no_confidence"])},
        "hardForkInitiation": ratio(raw["pvt_hard_fork_initiation"]),
        "protocolParametersUpdate": {"security": ratio(raw["pvt_p_p_security_group"])},
    }


def _drep_thresholds(raw: Mapping[str, Any]) -> Json:
    return {
        "noConfidence": ratio(raw["dvt_motion_no_confidence"]),
        "constitutionalCommittee": {"default": ratio(raw["dvt_committee_normal"]),
                                    "stateOfNoConfidence": ratio(raw["dvt_committee_no_confidence"])},
        "constitution": ratio(raw["dvt_update_to_constitution"]),
        "hardForkInitiation": ratio(raw["dvt_hard_fork_initiation"]),
        "protocolParametersUpdate": {
            "network": ratio(raw["dvt_p_p_network_group"]),
            "economic": ratio(raw["dvt_p_p_economic_group"]),
            "technical": ratio(raw["dvt_p_p_technical_group"]),
            "governance": ratio(raw["dvt_p_p_gov_group"]),
        },
        "treasuryWithdrawals": ratio(raw["dvt_treasury_withdrawal"]),
    }


def _conway_updatable(raw: Mapping[str, Any]) -> Json:
    return {
        "stakePoolVotingThresholds": _pool_thresholds(raw),
        "constitutionalCommitteeMinSize": int(raw["committee_min_size"]),
        "constitutionalCommitteeMaxTermLength": int(raw["committee_max_term_length"]),
        "governanceActionLifetime": int(raw["gov_action_lifetime"]),
        "governanceActionDeposit": lovelace(int(raw["gov_action_deposit"])),
        "delegateRepresentativeVotingThresholds": _drep_thresholds(raw),
        "delegateRepresentativeDeposit": lovelace(int(raw["drep_deposit"])),
        "delegateRepresentativeMaxIdleTime": int(raw["drep_activity"]),
    }


def _alonzo_updatable(params: Any) -> Json:
    return {
        "minUtxoDepositCoefficient": int(params.coins_per_utxo_byte),
        "collateralPercentage": int(params.collateral_percent),
        "plutusCostModels": params.cost_models_by_ogmios_name(),
        "maxCollateralInputs": int(params.max_collateral_inputs),
        "maxExecutionUnitsPerBlock": _units(params.max_block_ex_mem, params.max_block_ex_steps),
        "maxExecutionUnitsPerTransaction": _units(params.max_tx_ex_mem, params.max_tx_ex_steps),
        "maxValueSize": _bytes(params.max_val_size),
        "scriptExecutionPrices": {"memory": ratio(params.price_mem), "cpu": ratio(params.price_step)},
    }


def protocol_parameters(params: Any) -> Json:
    """cardano.json ``ProtocolParameters`` (Ogmios v6 keys) from a ``LedgerParams``.

    pycardano passes this object as keyword arguments: every key here is one its
    ``ogmios.datatypes.ProtocolParameters`` accepts, nothing more.
    """
    raw = params.raw
    entropy = raw.get("extra_entropy")
    result: Json = {
        "minFeeCoefficient": int(params.min_fee_a),
        "minFeeConstant": lovelace(params.min_fee_b),
        "minFeeReferenceScripts": {"range": REF_SCRIPT_TIER_BYTES,
                                   "base": float(params.min_fee_ref_script_cost_per_byte),
                                   "multiplier": REF_SCRIPT_TIER_MULTIPLIER},
        "minUtxoDepositCoefficient": int(params.coins_per_utxo_byte),
        "minUtxoDepositConstant": lovelace(0),
        "maxBlockBodySize": _bytes(params.max_block_size),
        "maxBlockHeaderSize": _bytes(params.max_block_header_size),
        "maxTransactionSize": _bytes(params.max_tx_size),
        "maxValueSize": _bytes(params.max_val_size),
        "extraEntropy": entropy if isinstance(entropy, str) and len(entropy) == 64 else "neutral",
        "stakeCredentialDeposit": lovelace(params.key_deposit),
        "stakePoolDeposit": lovelace(params.pool_deposit),
        "stakePoolRetirementEpochBound": int(raw.get("e_max", 18)),
        "stakePoolPledgeInfluence": ratio(raw.get("a0", 0)),
        "minStakePoolCost": lovelace(params.min_pool_cost),
        "desiredNumberOfStakePools": int(raw.get("n_opt", 500)),
        "monetaryExpansion": ratio(raw.get("rho", 0)),
        "treasuryExpansion": ratio(raw.get("tau", 0)),
        "collateralPercentage": int(params.collateral_percent),
        "maxCollateralInputs": int(params.max_collateral_inputs),
        "plutusCostModels": params.cost_models_by_ogmios_name(),
        "scriptExecutionPrices": {"memory": ratio(params.price_mem), "cpu": ratio(params.price_step)},
        "maxExecutionUnitsPerTransaction": _units(params.max_tx_ex_mem, params.max_tx_ex_steps),
        "maxExecutionUnitsPerBlock": _units(params.max_block_ex_mem, params.max_block_ex_steps),
        "maxReferenceScriptsSize": _bytes(MAX_REF_SCRIPTS_SIZE_PER_TX),
        "version": {"major": int(params.protocol_major), "minor": int(params.protocol_minor)},
    }
    if "pvt_motion_no_confidence" in raw:
        result.update(_conway_updatable(raw))
    return result


def _byron_parameters(params: Any, slot_length_ms: int) -> Json:
    return {
        "heavyDelegationThreshold": "3/1000", "maxBlockBodySize": _bytes(2_000_000),
        "maxBlockHeaderSize": _bytes(2_000_000), "maxUpdateProposalSize": _bytes(700),
        "maxTransactionSize": _bytes(4096), "multiPartyComputationThreshold": "1/50",
        "scriptVersion": 0, "slotDuration": slot_length_ms, "unlockStakeEpoch": 2**64 - 1,
        "updateProposalThreshold": "1/10", "updateProposalTimeToLive": 10,
        "updateVoteThreshold": "1/1000", "softForkInitThreshold": "9/10",
        "softForkMinThreshold": "3/5", "softForkDecrementThreshold": "1/20",
        "minFeeCoefficient": int(params.min_fee_a), "minFeeConstant": lovelace(params.min_fee_b),
    }


def genesis_configuration(era: str, params: Any, *, system_start_ms: int, slot_length_ms: int,
                          epoch_length: int, network: str = "testnet") -> Json:
    """``queryNetwork/genesisConfiguration`` for byron, shelley, alonzo or conway.

    Byron sends its parameters under both ``updatableParameters`` (what Ogmios and the
    Python client use) and ``protocolParameters`` (what the v6.14 schema requires).
    """
    start = utc_time(system_start_ms)
    if era == "byron":
        byron = _byron_parameters(params, slot_length_ms)
        return {"era": "byron", "genesisKeyHashes": [], "genesisDelegations": {},
                "startTime": start, "initialFunds": {}, "initialVouchers": {},
                "securityParameter": SECURITY_PARAMETER, "networkMagic": NETWORK_MAGIC,
                "updatableParameters": byron, "protocolParameters": byron}
    if era == "shelley":
        initial = {k: v for k, v in protocol_parameters(params).items()
                   if k in _SHELLEY_PARAMETER_KEYS}
        return {"era": "shelley", "startTime": start, "networkMagic": NETWORK_MAGIC,
                "network": network, "activeSlotsCoefficient": ACTIVE_SLOTS_COEFFICIENT,
                "securityParameter": SECURITY_PARAMETER, "epochLength": epoch_length,
                "slotsPerKesPeriod": 129600, "maxKesEvolutions": 62,
                "slotLength": {"milliseconds": slot_length_ms}, "updateQuorum": 5,
                "maxLovelaceSupply": 45_000_000_000_000_000, "initialParameters": initial,
                "initialDelegates": [], "initialFunds": {},
                "initialStakePools": {"stakePools": {}, "delegators": {}}}
    if era == "alonzo":
        return {"era": "alonzo", "updatableParameters": _alonzo_updatable(params)}
    if era == "conway":
        return {"era": "conway",
                "constitution": {"metadata": {"url": "https://devnet.invalid/constitution",
                                              "hash": "00" * 32},
                                 # mainnet's guardrails script hash: the Python client refuses null
                                 "guardrails": {"hash": GUARDRAILS_SCRIPT_HASH}},
                "constitutionalCommittee": {"members": [], "quorum": "2/3"},
                "updatableParameters": _conway_updatable(params.raw)}
    raise ValueError(f"unknown genesis era {era!r}")


_SHELLEY_PARAMETER_KEYS = frozenset({
    "minFeeCoefficient", "minFeeConstant", "minUtxoDepositCoefficient", "minUtxoDepositConstant",
    "maxBlockBodySize", "maxBlockHeaderSize", "maxTransactionSize", "extraEntropy",
    "stakeCredentialDeposit", "stakePoolDeposit", "stakePoolRetirementEpochBound",
    "stakePoolPledgeInfluence", "minStakePoolCost", "desiredNumberOfStakePools",
    "monetaryExpansion", "treasuryExpansion", "version",
})
