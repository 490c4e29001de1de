"""Gathering a schedule's chain facts once per step: deployment, locks, certificates, clock.

Read the allocation address once per observation (never per allocation); Kupo's history
of the same address tells which allocations were ever locked, so released ones are
known even with an empty data directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pycardano as pc

from runner.domain import claims
from runner.domain.schedule import Allocation
from runner.engine import adapter, discovery
from runner.engine.adapter import ChainSnapshot
from runner.engine.context import Context


class KnownAfterApply(Exception):
    """Plan mode: a fact this step needs is created by an earlier step of the same plan."""


@dataclass
class ScheduleFacts:
    resolved: discovery.Resolved | None
    snap: ChainSnapshot
    locked: list[adapter.Locked] = field(default_factory=list)
    locked_utxos: dict[str, pc.UTxO] = field(default_factory=dict)  # ref -> UTxO
    junk: list[pc.UTxO] = field(default_factory=list)
    ever: list[adapter.Locked] = field(default_factory=list)  # locked now or spent since
    certificates: dict[str, pc.UTxO] = field(default_factory=dict)
    seed_spent: bool = False

    @property
    def deployment(self) -> adapter.Deployment | None:
        return self.resolved.deployment if self.resolved else None

    @property
    def registered(self) -> bool:
        return self.seed_spent or bool(self.ever)

    def require_deployment(self, ctx: Context) -> adapter.Deployment:
        if self.deployment is None:
            if ctx.plan_mode:
                raise KnownAfterApply("the deployment is made by an earlier step")
            from runner.errors import StateError

            raise StateError("the schedule is not deployed on chain",
                             hint="run register-milestone first (it deploys and locks)")
        return self.deployment

    def allocations(self) -> list[Allocation]:
        """Every allocation the chain knows (locked now or once), by (beneficiary, milestone)."""
        seen: dict[tuple[str, str], Allocation] = {}
        for item in [*self.ever, *self.locked]:
            seen.setdefault(item.key, Allocation(item.beneficiary, item.amount, item.milestone, item.vesting_ms))
        return sorted(seen.values(), key=lambda a: (a.milestone, a.beneficiary))

    def claim_facts(self) -> claims.ChainFacts:
        expiry = self.resolved.schedule.params.expiry_ms if self.resolved else 0
        locked_keys = frozenset(item.key for item in self.locked)
        reclaimed = self.snap.now_ms >= expiry > 0 and not self.locked and bool(self.ever)
        return claims.ChainFacts(self.registered, locked_keys, frozenset(self.certificates), self.snap.now_ms,
                                 expiry, reclaimed)


def schedule_facts(ctx: Context, resolved: discovery.Resolved | None, *, history: bool = True) -> ScheduleFacts:
    snap = ctx.chain.snapshot()
    facts = ScheduleFacts(resolved, snap)
    dep = resolved.deployment if resolved else None
    if resolved is None or dep is None:
        return facts
    schedule = resolved.schedule
    utxos = ctx.chain.utxos(schedule.allocation_address)
    facts.locked, facts.junk = adapter.decode_locked(dep, utxos)
    refs = {item.ref for item in facts.locked}
    facts.locked_utxos = {r: u for u in utxos if (r := f"{u.input.transaction_id.payload.hex()}#{u.input.index}")
                          in refs}
    facts.certificates = adapter.certificates(dep, ctx.chain.utxos(schedule.certificate_address))
    facts.seed_spent = not ctx.chain.by_refs([schedule.seed])
    if history:
        from runner.chain.pycardano_context import to_pycardano_utxo

        spent = [to_pycardano_utxo(u) for u in ctx.chain.spent_history(schedule.allocation_address)]
        once, _ = adapter.decode_locked(dep, spent)
        facts.ever = once + facts.locked
    return facts
