"""pycardano ``ChainContext`` over the in-process devnet ledger.

So that tests and builders use pycardano's ``TransactionBuilder`` against the devnet
with no server in between. Errors are translated at this seam: a ledger refusal stays
the project's :class:`LedgerRejection` (with its Ogmios code), a failing script during
evaluation becomes :class:`ScriptFailure`, never a pycardano exception.
"""

from __future__ import annotations

from fractions import Fraction

from pycardano import (
    Address,
    ChainContext,
    ExecutionUnits,
    GenesisParameters,
    Network,
    ProtocolParameters,
    Transaction,
    UTxO,
)

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.rules.registry import script_failure

#: pycardano keys evaluation results by ``RedeemerTag.name.lower()``.
_PYCARDANO_TAGS = {"spend": "spend", "mint": "mint", "withdraw": "withdrawal",
                   "publish": "certificate", "vote": "voting", "propose": "proposing"}


class DevnetChainContext(ChainContext):  # type: ignore[misc]
    """A ChainContext whose chain is a :class:`Ledger` in this process."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._protocol_param: ProtocolParameters | None = None

    @property
    def protocol_param(self) -> ProtocolParameters:
        if self._protocol_param is None:
            self._protocol_param = self.ledger.params.to_pycardano()
        return self._protocol_param

    @property
    def genesis_param(self) -> GenesisParameters:
        config = self.ledger.slot_config
        return GenesisParameters(
            active_slots_coefficient=Fraction(1, 20),
            update_quorum=5,
            max_lovelace_supply=45_000_000_000_000_000,
            network_magic=42,
            epoch_length=config.epoch_length,
            system_start=config.system_start_ms // 1000,
            slots_per_kes_period=129_600,
            slot_length=max(1, config.slot_length_ms // 1000),
            max_kes_evolutions=62,
            security_param=2160,
        )

    @property
    def network(self) -> Network:
        return self.ledger.network

    @property
    def epoch(self) -> int:
        return self.ledger.epoch

    @property
    def last_block_slot(self) -> int:
        return self.ledger.tip.slot

    def _utxos(self, address: str) -> list[UTxO]:
        return [UTxO(ref, out) for ref, out in self.ledger.utxos_at(address)]

    def utxos(self, address: str | Address) -> list[UTxO]:
        return self._utxos(str(address))

    def submit_tx(self, tx: Transaction | bytes | str) -> str:
        return self.ledger.submit(tx)

    def submit_tx_cbor(self, cbor: bytes | str) -> str:
        return self.ledger.submit(cbor)

    def evaluate_tx(self, tx: Transaction) -> dict[str, ExecutionUnits]:
        return self.evaluate_tx_cbor(tx.to_cbor())

    def evaluate_tx_cbor(self, cbor: bytes | str) -> dict[str, ExecutionUnits]:
        """Budgets measured under the maximum; a failing script raises ScriptFailure (3010)."""
        evaluations = self.ledger.evaluate(cbor)
        failed = [e for e in evaluations if not e.ok]
        if failed:
            raise script_failure(failed)
        return {
            f"{_PYCARDANO_TAGS.get(e.tag, e.tag)}:{e.index}": ExecutionUnits(mem=e.memory, steps=e.cpu)
            for e in evaluations
        }
