"""``milestones status``: each step's transactions and their confirmation depth, from the chain.

The chain is the source of truth, so this works from an empty data directory: a step's
transaction ids are found from chain state (the reference scripts' outputs for ``deploy``,
the register chain in Kupo's history for ``register``, the certificate output for
``commit``, the transactions that spent the pots for ``release`` and ``reclaim``).  The
journal adds the ids the chain cannot attribute to a step (the stake registration, a
transaction still in flight); such a transaction says ``found_by: journal``.

Depth is read from the chain, never from the journal: the engine's
``ChainView.inclusion_height`` (Kupo says in which block an output of the transaction was
created, Ogmios' chain synchronization gives that block's height, the answers checked); the
depth is ``tip height - block height + 1`` (1: in the tip block), the same count the engine
confirms with.  A transaction in the node's mempool has depth 0; one the chain does not
know is ``not found``.  Read-only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from runner.commands.plans_engine import PlanRun, StepOutcome
from runner.engine.chainview import ChainView
from runner.plan import Plan, PlanInvalid, Step

#: the ``found_by`` values
CHAIN, JOURNAL, BOTH = "chain", "journal", "chain and journal"


@dataclass(frozen=True)
class TxDepth:
    tx_id: str
    kind: str
    found_by: str  # chain | journal | chain and journal
    state: str  # on chain | in mempool | not found
    depth: int | None  # blocks from the tip down to the block holding it (1: the tip); 0: in the mempool
    block_height: int | None = None
    slot: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        if self.state == "on chain" and self.depth is not None:
            where = f"depth {self.depth} (block {self.block_height}, slot {self.slot})"
        elif self.state == "on chain":
            where = "on chain, depth unknown (no block index behind this backend)"
        else:
            where = {"in mempool": "in mempool (depth 0)"}.get(self.state, self.state)
        known = "; only the journal knows it belongs to this step" if self.found_by == JOURNAL else ""
        return f"{self.tx_id} {self.kind}: {where}{known}"


@dataclass
class StatusTxs:
    """Finds each step's transactions and their depths; one per status run."""

    run: PlanRun
    _released: set[str] = field(default_factory=set)  # release txs already shown under an earlier step

    def annotate(self, outcome: StepOutcome) -> None:
        found: dict[str, tuple[str, set[str]]] = {}
        for tx_id, kind in self._from_chain(outcome.id):
            found.setdefault(tx_id, (kind, set()))[1].add(CHAIN)
        for entry in self.run.ctx.journal.entries():
            if entry.step.startswith(f"{outcome.id}:"):
                kind = entry.step.split(":")[1]
                found.setdefault(entry.tx_id, (kind, set()))[1].add(JOURNAL)
        outcome.confirmations = [
            depth_of(self.run.ctx.chain, tx_id, kind, BOTH if len(by) == 2 else next(iter(by)))
            for tx_id, (kind, by) in found.items()]

    def _from_chain(self, step_id: str) -> list[tuple[str, str]]:
        from runner.engine.observe import KnownAfterApply

        try:
            plan = self.run.render()
            step = next(s for s in plan.steps if s.id == step_id)
            if step.kind not in ("deploy", "register", "commit", "release", "reclaim"):
                return []
            return self._step_txs(plan, step)
        except (PlanInvalid, KnownAfterApply, StopIteration):
            return []

    def _step_txs(self, plan: Plan, step: Step) -> list[tuple[str, str]]:
        from runner.engine.observe import register_transactions

        facts = self.run.facts(plan, self.run.keys(plan))
        if facts.resolved is None or facts.deployment is None:
            return []
        if step.kind == "deploy":
            refs = facts.deployment.script_utxos.values()
            return [(tx, "deploy") for tx in dict.fromkeys(u.input.transaction_id.payload.hex() for u in refs)]
        if step.kind == "register":
            found = register_transactions(self.run.ctx, facts.resolved.schedule) if facts.seed_spent else None
            return [(tx, "register") for tx in sorted(found or ())]
        if step.kind == "commit":
            utxo = facts.certificates.get(step.options.milestone)
            return [] if utxo is None else [(utxo.input.transaction_id.payload.hex(), "certify")]
        return self._spenders(plan, step, facts)

    def _spenders(self, plan: Plan, step: Step, facts: Any) -> list[tuple[str, str]]:
        """The transactions that spent this step's pots: releases (paid the beneficiary) or the reclaim."""
        address = facts.resolved.schedule.allocation_address
        spender = {f"{m.utxo.ref.tx_id}#{m.utxo.ref.index}": m.spent_at.tx_id
                   for m in self.run.ctx.chain.matches(address, "spent") if m.spent_at and m.spent_at.tx_id}
        wanted = _selection(self.run, plan, step)
        txs: dict[str, None] = {}
        for item in facts.ever:
            tx = spender.get(item.ref)
            reclaimed = item.key in facts.reclaimed_keys
            if tx is None or reclaimed != (step.kind == "reclaim") or not wanted(item.beneficiary, item.milestone):
                continue
            if step.kind == "release" and tx in self._released:
                continue
            txs[tx] = None
        if step.kind == "release":
            self._released.update(txs)
        return [(tx, step.kind) for tx in txs]


def _selection(run: PlanRun, plan: Plan, step: Step) -> Any:
    if step.kind == "reclaim":  # the engine reclaims whole: every pot the owner took back
        return lambda beneficiary, milestone: True
    select = step.options.select
    address = run.keys(plan).address(select.beneficiary) if select.beneficiary else None
    return lambda beneficiary, milestone: ((select.milestone is None or milestone == select.milestone)
                                           and (address is None or beneficiary == address))


def depth_of(chain: ChainView, tx_id: str, kind: str, found_by: str) -> TxDepth:
    """Where the chain has ``tx_id``: its block and depth, the mempool, or nowhere."""
    height = chain.inclusion_height(tx_id)  # Kupo's block point, then Ogmios chain sync (checked answers)
    if height is not None:
        tip = chain.block_height()
        slots = [m.created_at.slot for m in chain.matches(f"*@{tx_id}")]
        return TxDepth(tx_id, kind, found_by, "on chain", tip - height + 1, height, min(slots) if slots else None)
    if chain.in_mempool(tx_id):
        return TxDepth(tx_id, kind, found_by, "in mempool", 0)
    if chain.by_refs([f"{tx_id}#0"]):
        return TxDepth(tx_id, kind, found_by, "on chain", None)
    return TxDepth(tx_id, kind, found_by, "not found", None)
