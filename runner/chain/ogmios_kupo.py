"""``ChainBackend`` for real networks: Ogmios for ledger state and submission, Kupo for
datums, scripts and indexing progress.

UTxO queries go to Ogmios (``queryLedgerState/utxo``) because they are exact as of the
node's ledger tip; Kupo answers what Ogmios cannot (datums by hash, scripts by hash,
spent history via ``KupoClient.matches``) and tells when its index has caught up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from runner.chain.backend import (
    EraSummary,
    Evaluation,
    GenesisConfiguration,
    OutputReference,
    ProtocolParameters,
    RewardAccount,
    Script,
    SubmitResult,
    Tip,
    Utxo,
)
from runner.chain.kupo import KupoClient
from runner.chain.ogmios import OgmiosClient, WebSocketJsonRpc


class OgmiosKupoBackend:
    """Implements ``runner.chain.backend.ChainBackend``."""

    def __init__(
        self,
        ogmios: OgmiosClient,
        kupo: KupoClient,
        *,
        closers: Sequence[WebSocketJsonRpc | KupoClient] = (),
    ) -> None:
        self.ogmios = ogmios
        self.kupo = kupo
        self._closers = tuple(closers)

    @classmethod
    def connect(
        cls, ogmios_url: str, kupo_url: str, *, timeout: float = 30.0
    ) -> OgmiosKupoBackend:
        """Clients for the configured URLs (connections open lazily, on first use)."""
        rpc = WebSocketJsonRpc(ogmios_url, timeout=timeout)
        kupo = KupoClient(kupo_url, timeout=timeout)
        return cls(OgmiosClient(rpc), kupo, closers=(rpc, kupo))

    def close(self) -> None:
        for closer in self._closers:
            closer.close()

    def __enter__(self) -> OgmiosKupoBackend:  # noqa: PYI034 (typing.Self needs 3.11)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def tip(self) -> Tip:
        return self.ogmios.network_tip()

    def epoch(self) -> int:
        return self.ogmios.epoch()

    def protocol_parameters(self) -> ProtocolParameters:
        return self.ogmios.protocol_parameters()

    def era_summaries(self) -> tuple[EraSummary, ...]:
        return self.ogmios.era_summaries()

    def genesis_configuration(self, era: str) -> GenesisConfiguration:
        return self.ogmios.genesis_configuration(era)

    def start_time(self) -> datetime:
        return self.ogmios.start_time()

    def utxos_at(self, addresses: Sequence[str]) -> list[Utxo]:
        return self.ogmios.utxos_at(addresses)

    def utxos_by_refs(self, refs: Sequence[OutputReference]) -> list[Utxo]:
        return self.ogmios.utxos_by_refs(refs)

    def reward_accounts(
        self, *, scripts: Sequence[str] = (), keys: Sequence[str] = ()
    ) -> list[RewardAccount]:
        return self.ogmios.reward_accounts(scripts=scripts, keys=keys)

    def evaluate(
        self, tx_cbor: bytes, additional_utxo: Sequence[Utxo] = ()
    ) -> Evaluation:
        return self.ogmios.evaluate(tx_cbor, additional_utxo)

    def submit(self, tx_cbor: bytes) -> SubmitResult:
        return self.ogmios.submit(tx_cbor)

    def in_mempool(self, tx_id: str) -> bool:
        return self.ogmios.in_mempool(tx_id)

    def datum(self, datum_hash: str) -> bytes | None:
        return self.kupo.datum(datum_hash)

    def script(self, script_hash: str) -> Script | None:
        return self.kupo.script(script_hash)

    def wait_for_slot_indexed(self, slot: int, deadline: float) -> int:
        return self.kupo.wait_for_checkpoint(slot, deadline)
