"""The one seam between the runner and a chain: ``ChainBackend`` and the facts it returns.

Everything above ``runner/chain`` (engine, builders through
:class:`runner.chain.pycardano_context.OgmiosKupoContext`) talks to a chain only
through this Protocol, so the same code runs against real Ogmios + Kupo and against
the embedded devnet. Results are frozen dataclasses that mirror Ogmios v6.14's JSON
shapes one-to-one (see ``runner/chain/ogmios_codec.py``), never raw dicts, so a
renamed key fails in the codec and not deep inside a builder.

Errors (all from ``runner.errors``): ``ChainUnavailable`` for transient transport
faults (safe to retry), ``ProtocolError`` for answers we cannot read,
``LedgerRejection`` / ``ScriptFailure`` (with ``ogmios_code`` and ``data``) when the
ledger refuses or a script fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Protocol, runtime_checkable

ADA = "ada"
PLUTUS_LANGUAGES = ("plutus:v1", "plutus:v2", "plutus:v3")
SCRIPT_LANGUAGES = ("native",) + PLUTUS_LANGUAGES


@dataclass(frozen=True)
class Tip:
    """The point the ledger is at. ``block_hash is None`` means the chain is at origin."""

    slot: int
    block_hash: str | None
    height: int | None = None

    @property
    def is_origin(self) -> bool:
        return self.block_hash is None


ORIGIN = Tip(slot=0, block_hash=None)


@dataclass(frozen=True)
class OutputReference:
    """A transaction output's address on chain: ``tx_id#index``."""

    tx_id: str
    index: int

    def __str__(self) -> str:
        return f"{self.tx_id}#{self.index}"


@dataclass(frozen=True)
class Value:
    """Lovelace plus native assets: ``assets[policy_id_hex][asset_name_hex] = quantity``."""

    lovelace: int
    assets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def quantity(self, policy_id: str, asset_name: str = "") -> int:
        return self.assets.get(policy_id, {}).get(asset_name, 0)


@dataclass(frozen=True)
class Script:
    """A script as carried by an output or a witness.

    ``cbor`` is what Ogmios calls ``cbor``: for Plutus, the CBOR byte string wrapping
    the flat program (the bytes that are hashed, as pycardano's ``PlutusScript``
    holds them); for native scripts, the native script's CBOR.
    """

    language: str
    cbor: bytes


@dataclass(frozen=True)
class Utxo:
    """One unspent output. ``datum`` is an inline datum's CBOR; ``datum_hash`` a hashed one."""

    ref: OutputReference
    address: str
    value: Value
    datum_hash: str | None = None
    datum: bytes | None = None
    script: Script | None = None


@dataclass(frozen=True)
class ExecutionUnits:
    memory: int
    cpu: int


@dataclass(frozen=True)
class ExecutionPrices:
    """Lovelace per unit, exact (Ogmios sends ``"a/b"`` ratios)."""

    memory: Fraction
    cpu: Fraction


@dataclass(frozen=True)
class ReferenceScriptsFee:
    """Conway's tiered fee for reference scripts (lovelace per byte, tier size, growth)."""

    base: float
    range: int
    multiplier: float


@dataclass(frozen=True)
class ProtocolVersion:
    major: int
    minor: int
    patch: int | None = None


@dataclass(frozen=True)
class ProtocolParameters:
    """The parameters a transaction builder needs, in Ogmios v6.14 names (snake_cased).

    Amounts are lovelace, sizes bytes. Fields Ogmios marks optional are ``None`` when
    absent. Governance voting thresholds are not kept: nothing here builds
    governance actions.
    """

    min_fee_coefficient: int
    min_fee_constant: int
    min_utxo_deposit_coefficient: int
    min_utxo_deposit_constant: int
    max_block_body_size: int
    max_block_header_size: int
    stake_credential_deposit: int
    stake_pool_deposit: int
    stake_pool_retirement_epoch_bound: int
    stake_pool_pledge_influence: Fraction
    min_stake_pool_cost: int
    monetary_expansion: Fraction
    treasury_expansion: Fraction
    desired_number_of_stake_pools: int
    version: ProtocolVersion
    max_transaction_size: int | None = None
    max_value_size: int | None = None
    max_reference_scripts_size: int | None = None
    min_fee_reference_scripts: ReferenceScriptsFee | None = None
    extra_entropy: str | None = None
    federated_block_production_ratio: Fraction | None = None
    plutus_cost_models: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    script_execution_prices: ExecutionPrices | None = None
    max_execution_units_per_transaction: ExecutionUnits | None = None
    max_execution_units_per_block: ExecutionUnits | None = None
    collateral_percentage: int | None = None
    max_collateral_inputs: int | None = None
    governance_action_deposit: int | None = None
    governance_action_lifetime: int | None = None
    delegate_representative_deposit: int | None = None
    delegate_representative_max_idle_time: int | None = None
    constitutional_committee_min_size: int | None = None
    constitutional_committee_max_term_length: int | None = None


@dataclass(frozen=True)
class EraBound:
    """Where an era starts or ends: seconds since system start, slot, epoch."""

    time_seconds: int
    slot: int
    epoch: int


@dataclass(frozen=True)
class EraSummary:
    """One era of the hard-fork history; ``end is None`` for the open-ended current era."""

    start: EraBound
    end: EraBound | None
    epoch_length: int
    slot_length_ms: int
    safe_zone: int | None


@dataclass(frozen=True)
class ShelleyGenesis:
    """The Shelley genesis facts pycardano's ``GenesisParameters`` needs."""

    start_time: datetime
    network_magic: int
    network: str
    active_slots_coefficient: Fraction
    security_parameter: int
    epoch_length: int
    slots_per_kes_period: int
    max_kes_evolutions: int
    slot_length_ms: int
    update_quorum: int
    max_lovelace_supply: int


@dataclass(frozen=True)
class ByronGenesis:
    start_time: datetime
    network_magic: int
    security_parameter: int


@dataclass(frozen=True)
class AlonzoGenesis:
    """Alonzo's updatable parameters, as the genesis file first set them."""

    min_utxo_deposit_coefficient: int
    collateral_percentage: int
    plutus_cost_models: Mapping[str, tuple[int, ...]]
    max_collateral_inputs: int
    max_execution_units_per_block: ExecutionUnits
    max_execution_units_per_transaction: ExecutionUnits
    max_value_size: int
    script_execution_prices: ExecutionPrices


@dataclass(frozen=True)
class ConwayGenesis:
    """Conway's genesis governance parameters (the ones this project may read)."""

    governance_action_lifetime: int
    governance_action_deposit: int
    delegate_representative_deposit: int
    delegate_representative_max_idle_time: int
    constitutional_committee_min_size: int
    constitutional_committee_max_term_length: int


GenesisConfiguration = ByronGenesis | ShelleyGenesis | AlonzoGenesis | ConwayGenesis


@dataclass(frozen=True)
class SubmitResult:
    """The ledger accepted the transaction into its mempool."""

    tx_id: str


@dataclass(frozen=True)
class RedeemerBudget:
    """Execution units one redeemer needs. ``purpose`` is Ogmios' name
    (spend, mint, publish, withdraw, vote, propose)."""

    purpose: str
    index: int
    budget: ExecutionUnits


@dataclass(frozen=True)
class Evaluation:
    """Budgets of every redeemer of an evaluated transaction."""

    redeemers: tuple[RedeemerBudget, ...]

    def budget_of(self, purpose: str, index: int) -> ExecutionUnits | None:
        for redeemer in self.redeemers:
            if redeemer.purpose == purpose and redeemer.index == index:
                return redeemer.budget
        return None


@dataclass(frozen=True)
class RewardAccount:
    """A registered stake credential's account (``queryLedgerState/rewardAccountSummaries``).
    Not registered = no summary at all."""

    credential: str  # 28 bytes, hex
    is_script: bool
    rewards: int  # lovelace withdrawable now
    deposit: int  # lovelace paid when it was registered
    stake_pool: str | None = None


@runtime_checkable
class RewardAccounts(Protocol):
    """A backend that can read reward accounts (an addition to ``ChainBackend``: callers
    check ``isinstance(backend, RewardAccounts)`` and otherwise cannot tell)."""

    def reward_accounts(self, *, scripts: Sequence[str] = (), keys: Sequence[str] = ()
                        ) -> list[RewardAccount]:
        """The summaries of those credentials (hex) that are registered; [] for none."""
        ...


@runtime_checkable
class ChainBackend(Protocol):
    """What the runner needs from a chain. Implementations: Ogmios + Kupo, the devnet.

    Every method may raise ``ChainUnavailable`` (transient) or ``ProtocolError``;
    ``evaluate`` and ``submit`` also ``LedgerRejection`` / ``ScriptFailure``.
    """

    def tip(self) -> Tip: ...

    def epoch(self) -> int: ...

    def protocol_parameters(self) -> ProtocolParameters: ...

    def era_summaries(self) -> tuple[EraSummary, ...]: ...

    def genesis_configuration(self, era: str) -> GenesisConfiguration: ...

    def start_time(self) -> datetime: ...

    def utxos_at(self, addresses: Sequence[str]) -> list[Utxo]: ...

    def utxos_by_refs(self, refs: Sequence[OutputReference]) -> list[Utxo]: ...

    def evaluate(
        self, tx_cbor: bytes, additional_utxo: Sequence[Utxo] = ()
    ) -> Evaluation: ...

    def submit(self, tx_cbor: bytes) -> SubmitResult: ...

    def in_mempool(self, tx_id: str) -> bool: ...

    def datum(self, datum_hash: str) -> bytes | None: ...

    def script(self, script_hash: str) -> Script | None: ...

    def wait_for_slot_indexed(self, slot: int, deadline: float) -> int:
        """Block until reads reflect ``slot`` (read-your-writes); return the indexed slot.

        ``deadline`` is on the backend's own monotonic clock; past it, raise
        ``ChainUnavailable``.
        """
        ...
