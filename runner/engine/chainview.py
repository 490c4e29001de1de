"""The engine's reads and writes of the chain, in the builder's terms, with retries.

Every call goes through one ``ChainBackend`` and is retried with tenacity only for
:class:`~runner.errors.ChainUnavailable` (connection refused, timeout, 5xx): a ledger
rejection or an unreadable answer is never retried here.  The retry policy is a value
(:class:`Retry`) and its sleep is injectable, so tests never sleep.

Transaction fate (:meth:`ChainView.fate`): a transaction is *on chain* when one of its
outputs is visible (unspent through Ogmios, or in Kupo's history while Ogmios shows its
inputs spent: an index alone never decides); *in mempool*
when the node says so; *dead* when an input is gone and the transaction did not land,
or its deadline slot has passed; otherwise *pending* (safe to resubmit: the same bytes,
never a rebuilt transaction).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pycardano as pc
import tenacity

from runner.chain.backend import ChainBackend, OutputReference, RewardAccount, RewardAccounts, Utxo, Value
from runner.chain.pycardano_context import to_pycardano_protocol_parameters, to_pycardano_utxo
from runner.engine.adapter import ChainSnapshot
from runner.errors import ChainUnavailable, LedgerRejection

T = TypeVar("T")


@dataclass(frozen=True)
class Retry:
    """Attempts and exponential backoff for transient faults, on top of the clients' own
    (``runner/chain/retry.py``): these cover a fault that outlasts a client's retries
    (a node restarting), so they are few and slower."""

    attempts: int = 3
    first_delay: float = 1.0
    max_delay: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def run(self, operation: Callable[[], T]) -> T:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.first_delay, max=self.max_delay),
            retry=tenacity.retry_if_exception_type(ChainUnavailable),
            sleep=self.sleep, reraise=True)
        return retrying(operation)


def ref_text(ref: pc.TransactionInput) -> str:
    return f"{ref.transaction_id.payload.hex()}#{ref.index}"


def parse_ref(text: str) -> OutputReference:
    tx_id, index = text.split("#")
    return OutputReference(tx_id, int(index))


def backend_utxo(utxo: pc.UTxO) -> Utxo:
    """A builder's output as the backend's ``Utxo`` (for ``additionalUtxo``): address, value
    and datum; an output with a reference script is refused (the builder never chains one)."""
    out = utxo.output
    if out.script is not None:
        raise ValueError(f"{ref_text(utxo.input)}: an output with a reference script cannot be chained")
    assets = {bytes(policy).hex(): {bytes(name.payload).hex(): int(q) for name, q in names.items()}
              for policy, names in out.amount.multi_asset.items()}
    datum = out.datum
    raw = None if datum is None else bytes(getattr(datum, "cbor", None) or datum.to_cbor())
    return Utxo(OutputReference(utxo.input.transaction_id.payload.hex(), utxo.input.index), str(out.address),
                Value(out.amount.coin, assets), out.datum_hash.payload.hex() if out.datum_hash else None, raw)


class ChainView:
    def __init__(self, backend: ChainBackend, network: pc.Network, retry: Retry | None = None) -> None:
        self.backend = backend
        self.network = network
        self.retry = retry or Retry()
        self._params: pc.ProtocolParameters | None = None
        self._clock: tuple[int, int] | None = None

    def call(self, operation: Callable[[], T]) -> T:
        return self.retry.run(operation)

    # ------------------------------------------------------------ reads

    def snapshot(self) -> ChainSnapshot:
        if self._params is None:
            self._params = to_pycardano_protocol_parameters(self.call(self.backend.protocol_parameters))
        if self._clock is None:
            start = self.call(self.backend.start_time)
            summaries = self.call(self.backend.era_summaries)
            self._clock = (int(start.timestamp()) * 1000, summaries[-1].slot_length_ms)
        tip = self.call(self.backend.tip)
        return ChainSnapshot(self._params, self.network, tip.slot, self._clock[0], self._clock[1])

    def utxos(self, address: str) -> list[pc.UTxO]:
        return [to_pycardano_utxo(u) for u in self.raw_utxos(address)]

    def raw_utxos(self, address: str | Sequence[str]) -> list[Utxo]:
        addresses = [address] if isinstance(address, str) else list(address)
        return self.call(lambda: self.backend.utxos_at(addresses))

    def by_refs(self, refs: Sequence[str]) -> list[Utxo]:
        wanted = [parse_ref(r) for r in refs]
        return self.call(lambda: self.backend.utxos_by_refs(wanted)) if wanted else []

    def script(self, script_hash: str) -> bytes | None:
        found = self.call(lambda: self.backend.script(script_hash))
        return None if found is None else found.cbor

    def evaluator(self, additional: Sequence[pc.UTxO] = ()
                  ) -> Callable[[pc.Transaction], Mapping[tuple[str, int], pc.ExecutionUnits]]:
        """Evaluate against the chain plus ``additional``: outputs of transactions not yet on
        chain that the evaluated one spends (a chain of transactions, Ogmios' ``additionalUtxo``)."""
        extra = [backend_utxo(u) for u in additional]

        def evaluate(tx: pc.Transaction) -> Mapping[tuple[str, int], pc.ExecutionUnits]:
            cbor = tx.to_cbor()
            result = self.call(lambda: self.backend.evaluate(cbor, extra) if extra else self.backend.evaluate(cbor))
            return {(r.purpose, r.index): pc.ExecutionUnits(r.budget.memory, r.budget.cpu)
                    for r in result.redeemers}
        return evaluate

    @property
    def reads_rewards(self) -> bool:
        """Can this backend read reward accounts (Ogmios' ``rewardAccountSummaries``)?"""
        return isinstance(self.backend, RewardAccounts)

    def script_reward_account(self, script_hash: str) -> RewardAccount | None:
        """The reward account of a script's stake credential; None when it is not registered.
        Only when :attr:`reads_rewards`.  The answer is checked by the client (shape, amounts,
        that it is about this credential)."""
        backend = self.backend
        assert isinstance(backend, RewardAccounts)
        found = self.call(lambda: backend.reward_accounts(scripts=[script_hash]))
        return found[0] if found else None

    @property
    def has_history(self) -> bool:
        """Is there an index of spent outputs (Kupo) behind this backend?"""
        return getattr(self.backend, "kupo", None) is not None

    def matches(self, pattern: str, status: str | None = None) -> list[Any]:
        """Kupo matches (``KupoMatch``: utxo, created_at, spent_at) or [] without Kupo."""
        kupo = getattr(self.backend, "kupo", None)
        if kupo is None:
            return []
        return list(self.call(lambda: kupo.matches(pattern, status=status)))

    def spent_history(self, address: str) -> list[Utxo]:
        """Outputs once at ``address`` and since spent (Kupo), or [] when unknown."""
        return [m.utxo for m in self.matches(address, "spent")]

    def ever_created(self, tx_id: str) -> bool:
        """Did ``tx_id`` land? (one of its outputs exists or existed, per Kupo)."""
        kupo = getattr(self.backend, "kupo", None)
        if kupo is None:
            return False
        return bool(self.call(lambda: kupo.matches(f"*@{tx_id}", status=None)))

    def block_height(self) -> int:
        """The tip's block height (Ogmios' ``queryNetwork/blockHeight`` when the tip lacks it)."""
        tip = self.call(self.backend.tip)
        if tip.height is not None:
            return tip.height
        ogmios = getattr(self.backend, "ogmios", None)
        if ogmios is not None:
            raw = self.call(lambda: ogmios.request("queryNetwork/blockHeight"))
            if isinstance(raw, int):
                return raw
        return tip.slot  # no height anywhere: slots stand in (documented in docs/engine.md)

    def inclusion_height(self, tx_id: str) -> int | None:
        """The height of the block holding ``tx_id``: Kupo's ``created_at`` of its outputs,
        then Ogmios chain sync for that block's height.  None when either is missing or the
        block is not (yet, or any more) on the chain: the caller counts from first sight."""
        kupo, ogmios = getattr(self.backend, "kupo", None), getattr(self.backend, "ogmios", None)
        if kupo is None or ogmios is None:
            return None
        points = {(m.created_at.slot, m.created_at.header_hash) for m in self.matches(f"*@{tx_id}")}
        if len(points) != 1:  # not indexed yet, or an index that contradicts itself
            return None
        [(slot, header_hash)] = points
        found = self.call(lambda: ogmios.block_height_at(slot, header_hash))
        return found if isinstance(found, int) else None

    # ------------------------------------------------------------ writes

    def submit(self, cbor: bytes) -> str:
        """Submit; never retried here beyond the client's own "provably never left" rule."""
        return self.backend.submit(cbor).tx_id

    def in_mempool(self, tx_id: str) -> bool:
        return self.call(lambda: self.backend.in_mempool(tx_id))

    def fate(self, tx_id: str, inputs: Sequence[str], outputs: int, deadline_slot: int | None) -> str:
        """'on chain' | 'in mempool' | 'dead' | 'pending' (see the module docstring)."""
        refs = [f"{tx_id}#{i}" for i in range(max(outputs, 1))]
        if self.by_refs(refs):
            return "on chain"
        if self.in_mempool(tx_id):
            return "in mempool"
        alive = self.by_refs(list(inputs))
        if len(alive) < len(inputs):  # Kupo's word counts only once the node agrees the inputs are gone
            return "on chain" if self.ever_created(tx_id) else "dead"
        if deadline_slot is not None and self.call(self.backend.tip).slot >= deadline_slot:
            return "dead"
        return "pending"


def is_already_spent(exc: LedgerRejection) -> bool:
    """3117: unknown or spent inputs (our own transaction landed, or someone else's)."""
    return exc.ogmios_code == 3117


def describe_rejection(exc: LedgerRejection) -> str:
    data: Any = exc.data
    detail = f" ({data})" if data is not None and len(str(data)) < 300 else ""
    return f"ledger rule {exc.ogmios_code}: {exc.message}{detail}"
