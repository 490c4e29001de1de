"""Gathering a schedule's chain facts once per step: deployment, locks, certificates, clock.

Read the allocation address once per observation (never per allocation); Kupo's history
of the same address tells which allocations were ever locked, so released ones are
known even with an empty data directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pycardano as pc

from runner.domain import claims
from runner.domain.schedule import Allocation, ScheduleDefinition
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
    junk: list[tuple[pc.UTxO, str]] = field(default_factory=list)  # ignored at the address, with why
    ever: list[adapter.Locked] = field(default_factory=list)  # locked now or spent since
    reclaimed_keys: frozenset[tuple[str, str]] = frozenset()  # spent by the owner's reclaim
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
        return claims.ChainFacts(self.registered, locked_keys, frozenset(self.certificates), self.snap.now_ms,
                                 expiry, self.reclaimed_keys)


def register_transactions(ctx: Context, schedule: adapter.Schedule) -> frozenset[str] | None:
    """The schedule's register transactions, from Kupo's history: the one that spent the
    seed, then each that spent the previous one's change and created pots.  None without
    an index of history (then every well-formed pot of the layout counts)."""
    if not ctx.chain.has_history:
        return None
    tx_id, index = schedule.seed.split("#")
    seed = ctx.chain.matches(f"{index}@{tx_id}")
    if not seed:
        return None
    found: list[str] = []
    spender = seed[0].spent_at.tx_id if seed[0].spent_at else None
    while spender is not None and len(found) < 10_000:
        outputs = ctx.chain.matches(f"*@{spender}")
        if not any(m.utxo.address == schedule.allocation_address for m in outputs):
            break
        found.append(spender)
        change = [m for m in outputs if m.utxo.address != schedule.allocation_address and m.spent_at]
        spender = change[0].spent_at.tx_id if change else None
    return frozenset(found)


def _reclaimed(ctx: Context, spent: list[Any], once: list[adapter.Locked]) -> frozenset[tuple[str, str]]:
    """Entries of spent pots whose spending transaction paid none of the pot's beneficiaries."""
    spender = {f"{m.utxo.ref.tx_id}#{m.utxo.ref.index}": m.spent_at.tx_id for m in spent if m.spent_at}
    outputs: dict[str, set[str]] = {}
    keys: set[tuple[str, str]] = set()
    for item in once:
        tx = spender.get(item.ref)
        if tx is None:
            continue
        if tx not in outputs:
            outputs[tx] = {m.utxo.address for m in ctx.chain.matches(f"*@{tx}")}
        if item.beneficiary not in outputs[tx]:
            keys.add(item.key)
    return frozenset(keys)


def schedule_facts(ctx: Context, resolved: discovery.Resolved | None, *, history: bool = True,
                   definition: ScheduleDefinition | None = None, pots: bool = True,
                   certificates: bool = True) -> ScheduleFacts:
    """``pots=False``: deployment and seed only (what deploy, stake and register decide on);
    decoding pots costs ~50 ms per allocation in the contract's scan."""
    snap = ctx.chain.snapshot()
    facts = ScheduleFacts(resolved, snap)
    dep = resolved.deployment if resolved else None
    if resolved is None or dep is None:
        return facts
    schedule = resolved.schedule
    facts.seed_spent = not ctx.chain.by_refs([schedule.seed])
    if certificates:
        facts.certificates = adapter.certificates(dep, ctx.chain.utxos(schedule.certificate_address))
    if not pots:
        return facts
    genuine = register_transactions(ctx, schedule) if facts.seed_spent else frozenset()
    # the register transactions are the stronger check; the layout check is for chains without history
    definition = definition if genuine is None else None
    utxos = ctx.chain.utxos(schedule.allocation_address)
    facts.locked, facts.junk = adapter.decode_locked(dep, utxos, definition=definition, genuine_txs=genuine)
    refs = {item.ref for item in facts.locked}
    facts.locked_utxos = {r: u for u in utxos if (r := f"{u.input.transaction_id.payload.hex()}#{u.input.index}")
                          in refs}
    if history and facts.seed_spent:
        from runner.chain.pycardano_context import to_pycardano_utxo

        spent = ctx.chain.matches(schedule.allocation_address, "spent")
        once, _ = adapter.decode_locked(dep, [to_pycardano_utxo(m.utxo) for m in spent], definition=definition,
                                        genuine_txs=genuine)
        facts.ever = once + facts.locked
        facts.reclaimed_keys = _reclaimed(ctx, spent, once)
    return facts
