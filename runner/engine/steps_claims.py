"""Steps on a deployed schedule: certify a milestone, release, reclaim, and read-only status.

They find the schedule from its contract address (or a definition) through discovery,
so they work from an empty data directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.domain import claims
from runner.domain.schedule import Allocation
from runner.engine import adapter, discovery
from runner.engine.adapter import UnsignedTx
from runner.engine.chainview import ref_text
from runner.engine.context import Context
from runner.engine.observe import ScheduleFacts, schedule_facts
from runner.engine.step import Decision, Step, noop, register
from runner.engine.steps_schedule import ScheduleTarget
from runner.errors import LedgerRejection, UserInputError


@dataclass
class Where:
    """How a step finds its schedule: a contract address, or a definition."""

    contract_address: str | None = None
    target: ScheduleTarget | None = None

    def facts(self, ctx: Context, *, history: bool = False, pots: bool = True) -> ScheduleFacts:
        if self.target is not None:
            return self.target.facts(ctx, history=history, pots=pots)
        assert self.contract_address is not None
        return schedule_facts(ctx, discovery.by_address(ctx, self.contract_address), history=history, pots=pots)


def withdrawable(ctx: Context, dep: adapter.Deployment) -> int:
    """The batch credential's reward balance (a release or reclaim withdraws exactly that);
    0 when the backend cannot read reward accounts (the devnet's balance is always 0)."""
    if not ctx.chain.reads_rewards:
        return 0
    account = ctx.chain.script_reward_account(adapter.reward_credential(dep))
    if account is None:
        raise UserInputError(f"the schedule's stake credential {adapter.reward_credential(dep)} is not registered, "
                             "so no release or reclaim can run (each one withdraws from it)",
                             location=str(dep.allocation_address),
                             hint="run register-milestone again: its stake step registers the credential")
    return account.rewards


def _junk(facts: ScheduleFacts) -> list[tuple[str, str]]:
    return [(ref_text(u.input), f"{why}; left for the owner's reclaim after expiry") for u, why in facts.junk]


@register
@dataclass
class CertifyStep(Step):
    kind = "certify"
    where: Where = field(default_factory=Where)
    milestone: str = ""
    signatures: Mapping[bytes, bytes] = field(default_factory=dict)
    payer_address: str = ""

    def observe(self, ctx: Context) -> ScheduleFacts:
        return self.where.facts(ctx, pots=False)

    def decide(self, facts: ScheduleFacts) -> Decision:
        cert = facts.certificates.get(self.milestone)
        if cert is not None:
            return noop(f"milestone {self.milestone} is certified on chain ({ref_text(cert.input)})")
        return Decision("certify", f"mint the certificate of {self.milestone} with "
                                   f"{len(self.signatures)} oracle signature(s)")

    def build(self, ctx: Context, facts: ScheduleFacts, decision: Decision) -> list[UnsignedTx]:
        dep = facts.require_deployment(ctx)
        payer = ctx.chain.utxos(self.payer_address)
        return [adapter.build_certify(dep, self.milestone, self.signatures, payer, facts.snap,
                                      ctx.chain.evaluator())]

    def result(self, ctx: Context, facts: ScheduleFacts) -> dict[str, Any]:
        cert = facts.certificates.get(self.milestone)
        return {"milestone_identifier": self.milestone, "certified": cert is not None,
                "certificate": ref_text(cert.input) if cert is not None else None}


def milestone_order(allocations: Sequence[Allocation], milestone: str) -> list[Allocation]:
    """A milestone's allocations in the contract's order: its pots by vesting time, and in a
    pot the datum's entries (sorted by the beneficiary's serialised address).  The guide's
    ``--beneficiary-index`` is a position in this list (``calculate-distribution`` shows it)."""
    mine = [a for a in allocations if a.milestone == milestone]
    return sorted(mine, key=lambda a: (a.vesting_ms, adapter.entry_order(a.beneficiary)))


@dataclass(frozen=True)
class Selection:
    """Which allocations a release covers: all, one beneficiary, one milestone, or both;
    ``index``: the guide's ``--beneficiary-index``, a position in the milestone's allocations
    (:func:`milestone_order`), which must agree with ``beneficiary`` when both are given."""

    beneficiary: str | None = None
    milestone: str | None = None
    index: int | None = None

    def describe(self) -> str:
        parts = [f"beneficiary {self.beneficiary}" if self.beneficiary else "",
                 f"milestone {self.milestone}" if self.milestone else "",
                 f"beneficiary index {self.index}" if self.index is not None else ""]
        return ", ".join(p for p in parts if p) or "all allocations"

    def resolve(self, allocations: Sequence[Allocation]) -> Selection:
        """The beneficiary the index names (a user error if it names none, or another one)."""
        if self.index is None:
            return self
        where = f"--beneficiary-index {self.index}"
        if self.milestone is None:
            raise UserInputError("--beneficiary-index counts within one milestone's allocations", location=where,
                                 hint="add --milestone-identifier (or use --beneficiary-address alone)")
        ordered = milestone_order(allocations, self.milestone)
        if self.index >= len(ordered):
            raise UserInputError(f"milestone {self.milestone} has {len(ordered)} allocation(s) on chain, so no index "
                                 f"{self.index}", location=where,
                                 hint="indexes start at 0; `calculate-distribution` shows each allocation's "
                                      "beneficiary_index")
        named = ordered[self.index].beneficiary
        if self.beneficiary is not None and named != self.beneficiary:
            raise UserInputError(f"index {self.index} of milestone {self.milestone} is {named}, not "
                                 f"--beneficiary-address {self.beneficiary}", location=where,
                                 hint="drop one of the two, or take the index from `calculate-distribution`")
        return Selection(named, self.milestone)


@register
@dataclass
class ReleaseStep(Step):
    kind = "release"
    repeat = True
    where: Where = field(default_factory=Where)
    selection: Selection = field(default_factory=Selection)
    payer_address: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def observe(self, ctx: Context) -> ScheduleFacts:
        return self.where.facts(ctx, history=True)

    def _statuses(self, facts: ScheduleFacts) -> list[claims.ClaimStatus]:
        allocations = facts.allocations()
        chosen = self.selection.resolve(allocations)
        found = claims.statuses(allocations, facts.claim_facts())
        return claims.select(found, beneficiary=chosen.beneficiary, milestone=chosen.milestone)

    def decide(self, facts: ScheduleFacts) -> Decision:
        chosen = self._statuses(facts)
        ready = {s.allocation.key for s in chosen if s.claimable}
        if not chosen:
            return noop(f"no allocation matches {self.selection.describe()}")
        if not ready:
            counts: dict[str, int] = {}
            for s in chosen:
                counts[s.reason.value] = counts.get(s.reason.value, 0) + 1
            return noop("nothing to release: " + ", ".join(f"{n} {r}" for r, n in sorted(counts.items())))
        refs = sorted({item.ref for item in facts.locked if item.key in ready})
        entries = sum(1 for item in facts.locked if item.ref in refs)
        return Decision("release", f"release {len(refs)} pot(s) holding {entries} allocation(s) "
                                   f"({self.selection.describe()}; a pot is released whole)", refs)

    def build(self, ctx: Context, facts: ScheduleFacts, decision: Decision) -> list[UnsignedTx]:
        dep = facts.require_deployment(ctx)
        utxos = [facts.locked_utxos[r] for r in decision.payload]
        payer = ctx.chain.utxos(self.payer_address)
        balance = withdrawable(ctx, dep)
        try:
            txs, skipped = adapter.build_release(dep, utxos, facts.certificates, payer, facts.snap,
                                                 ctx.chain.evaluator(), reward_balance=balance,
                                                 evaluate_after=ctx.chain.evaluator)
        except (UserInputError, LedgerRejection):
            if len(ctx.chain.by_refs(decision.payload)) == len(decision.payload):
                raise  # our pots are all there: a real refusal, explained
            return []  # another runner spent some of them meanwhile: observe again
        self.skipped = [(ref_text(u.input), why) for u, why in skipped]
        return txs

    def ignored(self, facts: ScheduleFacts) -> list[tuple[str, str]]:
        return _junk(facts)

    def result(self, ctx: Context, facts: ScheduleFacts) -> dict[str, Any]:
        chosen = self._statuses(facts)
        return {"selection": self.selection.describe(),
                "skipped": [{"pot": ref, "reason": why} for ref, why in self.skipped],
                "allocations": [{"beneficiary_address": s.allocation.beneficiary,
                                 "milestone_identifier": s.allocation.milestone,
                                 "token_amount": s.allocation.amount, "reason": s.reason.value} for s in chosen]}


@register
@dataclass
class ReclaimStep(Step):
    kind = "reclaim"
    repeat = True
    where: Where = field(default_factory=Where)
    owner_address: str = ""

    def observe(self, ctx: Context) -> ScheduleFacts:
        return self.where.facts(ctx)

    def decide(self, facts: ScheduleFacts) -> Decision:
        if facts.resolved is None:
            return noop("the schedule is not deployed")
        expiry = facts.resolved.schedule.params.expiry_ms
        if not facts.locked and not facts.junk:
            return noop("nothing left at the contract address")
        if facts.snap.now_ms < expiry:
            return noop(f"the schedule expires at {expiry} ms; chain time is {facts.snap.now_ms} ms")
        return Decision("reclaim", f"take back {len(facts.locked_utxos)} pot(s) and {len(facts.junk)} other "
                                   f"output(s)")

    def build(self, ctx: Context, facts: ScheduleFacts, decision: Decision) -> list[UnsignedTx]:
        dep = facts.require_deployment(ctx)
        utxos = list(facts.locked_utxos.values()) + [u for u, _ in facts.junk]
        payer, balance = ctx.chain.utxos(self.owner_address), withdrawable(ctx, dep)
        return adapter.build_reclaim(dep, utxos, payer, facts.snap, ctx.chain.evaluator(), reward_balance=balance,
                                     evaluate_after=ctx.chain.evaluator)


@register
@dataclass
class StatusStep(Step):
    """Read-only: the facts for check-status and calculate-distribution."""

    kind = "status"
    where: Where = field(default_factory=Where)
    facts_seen: ScheduleFacts | None = None

    def observe(self, ctx: Context) -> ScheduleFacts:
        self.facts_seen = self.where.facts(ctx, history=True)
        return self.facts_seen

    def decide(self, facts: ScheduleFacts) -> Decision:
        return noop("read only")

    def ignored(self, facts: ScheduleFacts) -> list[tuple[str, str]]:
        return _junk(facts)
