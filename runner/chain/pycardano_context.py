"""A pycardano ``ChainContext`` over any ``ChainBackend``.

The project's builders use pycardano's ``TransactionBuilder``, which wants a
``ChainContext``. Rather than pycardano's own Ogmios/Kupo backends (no timeouts, raw
library errors), this adapter answers pycardano from our ``ChainBackend`` — Ogmios +
Kupo or the embedded devnet alike — so builders see one behaviour and the project's
own errors (``LedgerRejection``, ``ChainUnavailable``...) everywhere.

Protocol and genesis parameters are fetched once and cached (pycardano reads them many
times per build); call ``refresh()`` after an epoch boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

import pycardano
import pycardano.backend.base as pycardano_base
from pycardano import (
    Address,
    Asset,
    AssetName,
    DatumHash,
    MultiAsset,
    NativeScript,
    Network,
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    RawCBOR,
    ScriptHash,
    TransactionInput,
    TransactionOutput,
    UTxO,
)

from runner.chain.backend import (
    ChainBackend,
    ExecutionPrices,
    ExecutionUnits,
    OutputReference,
    ProtocolParameters,
    RedeemerBudget,
    Script,
    ShelleyGenesis,
    Utxo,
)
from runner.errors import ProtocolError

# Ogmios redeemer purposes -> pycardano RedeemerTag names (as TransactionBuilder keys them).
PURPOSE_TO_TAG = {
    "spend": "spend",
    "mint": "mint",
    "publish": "certificate",
    "withdraw": "withdrawal",
    "vote": "voting",
    "propose": "proposing",
}
PLUTUS_SCRIPT_TYPES = {
    "plutus:v1": PlutusV1Script,
    "plutus:v2": PlutusV2Script,
    "plutus:v3": PlutusV3Script,
}
COST_MODEL_NAMES = {
    "plutus:v1": "PlutusV1",
    "plutus:v2": "PlutusV2",
    "plutus:v3": "PlutusV3",
}


class OgmiosKupoContext(pycardano_base.ChainContext):  # type: ignore[misc]  # pycardano ships no type hints
    """pycardano's view of a ``ChainBackend``."""

    def __init__(
        self, backend: ChainBackend, network: Network = Network.TESTNET
    ) -> None:
        self.backend = backend
        self._network = network
        self._protocol_param: pycardano_base.ProtocolParameters | None = None
        self._genesis_param: pycardano_base.GenesisParameters | None = None

    def refresh(self) -> None:
        """Forget cached parameters (they change only at epoch boundaries)."""
        self._protocol_param = None
        self._genesis_param = None

    @property
    def protocol_param(self) -> pycardano_base.ProtocolParameters:
        if self._protocol_param is None:
            self._protocol_param = to_pycardano_protocol_parameters(
                self.backend.protocol_parameters()
            )
        return self._protocol_param

    @property
    def genesis_param(self) -> pycardano_base.GenesisParameters:
        if self._genesis_param is None:
            genesis = self.backend.genesis_configuration("shelley")
            if not isinstance(genesis, ShelleyGenesis):
                raise ProtocolError(
                    f"asked for the Shelley genesis, got {type(genesis).__name__}"
                )
            self._genesis_param = to_pycardano_genesis(genesis)
        return self._genesis_param

    @property
    def network(self) -> Network:
        return self._network

    @property
    def epoch(self) -> int:
        return self.backend.epoch()

    @property
    def last_block_slot(self) -> int:
        return self.backend.tip().slot

    def _utxos(self, address: str) -> list[UTxO]:
        return [to_pycardano_utxo(u) for u in self.backend.utxos_at([address])]

    def submit_tx_cbor(self, cbor: bytes | str) -> str:
        """Submit; returns the transaction id. Ledger refusals raise ``LedgerRejection``."""
        raw = bytes.fromhex(cbor) if isinstance(cbor, str) else cbor
        return self.backend.submit(raw).tx_id

    def evaluate_tx_cbor(
        self, cbor: bytes | str
    ) -> dict[str, pycardano.ExecutionUnits]:
        raw = bytes.fromhex(cbor) if isinstance(cbor, str) else cbor
        return to_pycardano_budgets(self.backend.evaluate(raw).redeemers)


# ---------------------------------------------------------------- conversions


def to_pycardano_budgets(
    redeemers: Iterable[RedeemerBudget],
) -> dict[str, pycardano.ExecutionUnits]:
    """``{"spend:0": ExecutionUnits(mem, steps)}``, keyed as ``TransactionBuilder`` looks them up."""
    out: dict[str, pycardano.ExecutionUnits] = {}
    for redeemer in redeemers:
        tag = PURPOSE_TO_TAG.get(redeemer.purpose)
        if tag is None:
            raise ProtocolError(
                f"unknown redeemer purpose {redeemer.purpose!r} in an evaluation result"
            )
        out[f"{tag}:{redeemer.index}"] = pycardano.ExecutionUnits(
            mem=redeemer.budget.memory, steps=redeemer.budget.cpu
        )
    return out


def to_pycardano_script(
    script: Script,
) -> NativeScript | PlutusV1Script | PlutusV2Script | PlutusV3Script:
    if script.language == "native":
        return NativeScript.from_cbor(script.cbor)
    return PLUTUS_SCRIPT_TYPES[script.language](script.cbor)


def to_pycardano_utxo(utxo: Utxo) -> UTxO:
    """Our ``Utxo`` as pycardano's ``UTxO`` (inline datum kept as raw CBOR, byte for byte)."""
    try:
        address = Address.from_primitive(utxo.address)
    except (
        Exception
    ) as exc:  # pycardano raises several unrelated types for bad addresses
        raise ProtocolError(
            f"cannot use address {utxo.address[:40]!r} of {utxo.ref}: {exc}",
            hint="only Shelley-era (bech32) addresses are supported",
        ) from exc
    amount: int | pycardano.Value = utxo.value.lovelace
    if utxo.value.assets:
        multi = MultiAsset()
        for policy, names in utxo.value.assets.items():
            asset = Asset()
            for name, quantity in names.items():
                asset[AssetName(bytes.fromhex(name))] = quantity
            multi[ScriptHash(bytes.fromhex(policy))] = asset
        amount = pycardano.Value(utxo.value.lovelace, multi)
    output = TransactionOutput(
        address,
        amount,
        datum_hash=DatumHash(bytes.fromhex(utxo.datum_hash))
        if utxo.datum_hash
        else None,
        datum=RawCBOR(utxo.datum) if utxo.datum is not None else None,
        script=to_pycardano_script(utxo.script) if utxo.script is not None else None,
        post_alonzo=utxo.datum is not None or utxo.script is not None,
    )
    return UTxO(
        TransactionInput.from_primitive([utxo.ref.tx_id, utxo.ref.index]), output
    )


def _cost_models(raw: Mapping[str, Sequence[int]]) -> dict[str, dict[str, int]]:
    """Index-keyed, zero-padded so that sorting keys keeps the ledger's order
    (pycardano sorts V1 keys and keeps insertion order for V2/V3 when hashing)."""
    out: dict[str, dict[str, int]] = {}
    for language, costs in raw.items():
        name = COST_MODEL_NAMES.get(language)
        if name is None:
            continue
        width = len(str(len(costs)))
        out[name] = {f"{i:0{width}d}": cost for i, cost in enumerate(costs)}
    return out


def _limits(
    pp: ProtocolParameters,
) -> tuple[ExecutionPrices, ExecutionUnits, ExecutionUnits]:
    """The Alonzo+ parameters a builder cannot do without, or a clear error."""
    names = (
        "max_transaction_size",
        "max_value_size",
        "script_execution_prices",
        "max_execution_units_per_transaction",
        "max_execution_units_per_block",
        "collateral_percentage",
        "max_collateral_inputs",
    )
    missing = [n for n in names if getattr(pp, n) is None]
    prices, per_tx, per_block = (
        pp.script_execution_prices,
        pp.max_execution_units_per_transaction,
        pp.max_execution_units_per_block,
    )
    if missing or prices is None or per_tx is None or per_block is None:
        raise ProtocolError(
            f"protocol parameters lack {', '.join(missing)}",
            hint="the node must be in the Babbage or Conway era to build transactions",
        )
    return prices, per_tx, per_block


def to_pycardano_protocol_parameters(
    pp: ProtocolParameters,
) -> pycardano_base.ProtocolParameters:
    prices, per_tx, per_block = _limits(pp)
    ref_fee = pp.min_fee_reference_scripts
    return pycardano_base.ProtocolParameters(
        min_fee_constant=pp.min_fee_constant,
        min_fee_coefficient=pp.min_fee_coefficient,
        max_block_size=pp.max_block_body_size,
        max_tx_size=pp.max_transaction_size,
        max_block_header_size=pp.max_block_header_size,
        key_deposit=pp.stake_credential_deposit,
        pool_deposit=pp.stake_pool_deposit,
        pool_influence=pp.stake_pool_pledge_influence,
        monetary_expansion=pp.monetary_expansion,
        treasury_expansion=pp.treasury_expansion,
        decentralization_param=pp.federated_block_production_ratio or Fraction(0),
        extra_entropy=pp.extra_entropy or "",
        protocol_major_version=pp.version.major,
        protocol_minor_version=pp.version.minor,
        min_utxo=pp.min_utxo_deposit_constant,
        min_pool_cost=pp.min_stake_pool_cost,
        price_mem=prices.memory,
        price_step=prices.cpu,
        max_tx_ex_mem=per_tx.memory,
        max_tx_ex_steps=per_tx.cpu,
        max_block_ex_mem=per_block.memory,
        max_block_ex_steps=per_block.cpu,
        max_val_size=pp.max_value_size,
        collateral_percent=pp.collateral_percentage,
        max_collateral_inputs=pp.max_collateral_inputs,
        coins_per_utxo_word=pycardano_base.ALONZO_COINS_PER_UTXO_WORD,
        coins_per_utxo_byte=pp.min_utxo_deposit_coefficient,
        cost_models=_cost_models(pp.plutus_cost_models),
        maximum_reference_scripts_size=(
            {"bytes": pp.max_reference_scripts_size}
            if pp.max_reference_scripts_size is not None
            else None
        ),
        min_fee_reference_scripts=(
            {
                "base": ref_fee.base,
                "range": ref_fee.range,
                "multiplier": ref_fee.multiplier,
            }
            if ref_fee
            else None
        ),
    )


def to_pycardano_genesis(genesis: ShelleyGenesis) -> pycardano_base.GenesisParameters:
    slot_seconds = Fraction(genesis.slot_length_ms, 1000)
    return pycardano_base.GenesisParameters(
        active_slots_coefficient=genesis.active_slots_coefficient,
        update_quorum=genesis.update_quorum,
        max_lovelace_supply=genesis.max_lovelace_supply,
        network_magic=genesis.network_magic,
        epoch_length=genesis.epoch_length,
        system_start=int(genesis.start_time.timestamp()),
        slots_per_kes_period=genesis.slots_per_kes_period,
        slot_length=int(slot_seconds)
        if slot_seconds.denominator == 1
        else float(slot_seconds),
        max_kes_evolutions=genesis.max_kes_evolutions,
        security_param=genesis.security_parameter,
    )


def utxo_by_ref(backend: ChainBackend, tx_id: str, index: int) -> UTxO | None:
    """One output by reference, or None if it is spent or never existed."""
    found = backend.utxos_by_refs([OutputReference(tx_id, index)])
    return to_pycardano_utxo(found[0]) if found else None
