"""Steps that put a schedule on chain: deploy (reference scripts), stake, register (lock).

Each observes through discovery (runner/engine/discovery.py), so with an empty data
directory a second run finds what the first did and answers "already done".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pycardano as pc

from runner.domain.schedule import ScheduleDefinition
from runner.engine import adapter, discovery
from runner.engine.adapter import UnsignedTx
from runner.engine.chainview import ref_text
from runner.engine.context import Context
from runner.engine.observe import KnownAfterApply, ScheduleFacts, schedule_facts
from runner.engine.step import ChainMoved, Decision, Step, WorkAlreadyDone, noop, register
from runner.errors import LedgerRejection, UserInputError


@dataclass
class ScheduleTarget:
    """A schedule as the owner defines it, with the addresses that pay for it."""

    definition: ScheduleDefinition
    owner_address: str
    payer_address: str

    def facts(self, ctx: Context, *, history: bool = False, pots: bool = True,
              certificates: bool = True) -> ScheduleFacts:
        found = discovery.by_definition(ctx, self.definition, self.owner_address)
        return schedule_facts(ctx, found, history=history, definition=self.definition, pots=pots,
                              certificates=certificates)


def _token_units(utxo: pc.UTxO, definition: ScheduleDefinition) -> int:
    asset = utxo.output.amount.multi_asset.get(pc.ScriptHash(definition.token_policy), {})
    return int(asset.get(pc.AssetName(definition.token_name), 0))


def choose_seed(owned: list[pc.UTxO], definition: ScheduleDefinition) -> pc.UTxO:
    """The one-shot seed: the owner's output with the most of the schedule's token (ties:
    the smallest reference), so plan and apply pick the same one."""
    plain = [u for u in owned if u.output.script is None and u.output.datum is None]
    if not plain:
        raise UserInputError("the owner's address holds no output to make the schedule from",
                             location="--owner-key", hint="fund the owner's address (and send it the tokens)")
    return min(plain, key=lambda u: (-_token_units(u, definition), ref_text(u.input)))


@register
@dataclass
class DeployStep(Step):
    """Put the three scripts on chain as reference scripts (at the certificate address)."""

    kind = "deploy"
    target: ScheduleTarget | None = None

    def observe(self, ctx: Context) -> ScheduleFacts:
        assert self.target is not None
        return self.target.facts(ctx, pots=False, certificates=False)

    def decide(self, facts: ScheduleFacts) -> Decision:
        if facts.deployment is not None and facts.resolved is not None:
            return noop(f"deployed: the scripts are at {facts.resolved.schedule.certificate_address} "
                        f"(found from {facts.resolved.how})")
        return Decision("deploy", "the scripts are not on chain")

    def build(self, ctx: Context, facts: ScheduleFacts, decision: Decision) -> list[UnsignedTx]:
        assert self.target is not None
        definition = self.target.definition
        seed = choose_seed(ctx.chain.utxos(self.target.owner_address), definition)
        schedule = adapter.schedule_for(adapter.parameters(definition, ref_text(seed.input)), definition.network)
        return [adapter.build_deploy(schedule, ctx.chain.utxos(self.target.payer_address), facts.snap)]

    def result(self, ctx: Context, facts: ScheduleFacts) -> dict[str, Any]:
        if facts.resolved is None:
            return {}
        s = facts.resolved.schedule
        return {"contract_address": s.allocation_address, "certificate_address": s.certificate_address,
                "certificate_policy_id": s.policy_id.hex(), "seed": s.seed}


@register
@dataclass
class StakeStep(Step):
    """Register the batch validator's stake credential (a release runs it as a withdrawal)."""

    kind = "stake"
    target: ScheduleTarget | None = None

    def observe(self, ctx: Context) -> ScheduleFacts:
        assert self.target is not None
        return self.target.facts(ctx, pots=False, certificates=False)

    def decide(self, facts: ScheduleFacts) -> Decision:
        if facts.seed_spent:
            return noop("the stake credential was registered before the allocations were locked")
        return Decision("register stake", "the batch validator's stake credential must be registered "
                                          "(the ledger tells if it already is)")

    def build(self, ctx: Context, facts: ScheduleFacts, decision: Decision) -> list[UnsignedTx]:
        assert self.target is not None
        dep = facts.require_deployment(ctx)
        registered = (ctx.chain.reads_rewards
                      and ctx.chain.script_reward_account(adapter.reward_credential(dep)) is not None)
        payer = ctx.chain.utxos(self.target.payer_address)
        try:
            txs = adapter.build_stake(dep, payer, facts.snap, ctx.chain.evaluator(), registered=registered)
            if not txs:  # the builder's answer to a registered credential: nothing to do
                raise WorkAlreadyDone("the stake credential is already registered (its reward account exists)")
            return txs
        except LedgerRejection as exc:  # evaluation refuses a registration that is already done
            if self.already_done(exc) or "already registered" in str(exc.data) + exc.message:
                raise WorkAlreadyDone("the stake credential is already registered") from exc
            raise

    def already_done(self, rejection: LedgerRejection) -> str | None:
        if rejection.ogmios_code == 3145:
            return "the stake credential is already registered"
        return None


@register
@dataclass
class RegisterStep(Step):
    """Lock the allocations (spends the seed; chained transactions when large)."""

    kind = "register"
    target: ScheduleTarget | None = None
    registered_now: bool = False

    def observe(self, ctx: Context) -> ScheduleFacts:
        assert self.target is not None
        return self.target.facts(ctx, pots=False, certificates=False)

    def decide(self, facts: ScheduleFacts) -> Decision:
        if facts.seed_spent:
            return noop("registered: the schedule's one-shot seed is spent by its register transaction")
        return Decision("register", "lock the allocations")

    def build(self, ctx: Context, facts: ScheduleFacts, decision: Decision) -> list[UnsignedTx]:
        assert self.target is not None
        dep = facts.require_deployment(ctx)
        if facts.resolved is None:
            raise KnownAfterApply("deployment")
        owned = ctx.chain.utxos(self.target.owner_address)
        seed = next((u for u in owned if ref_text(u.input) == facts.resolved.schedule.seed), None)
        if seed is None:
            raise ChainMoved(UserInputError(  # another runner registered meanwhile? look again
                "the schedule's seed is no longer at the owner's address",
                hint="it was spent by another transaction: register the schedule again "
                     "(a new seed makes a new contract)"))
        self.registered_now = True
        return adapter.build_register(dep, self.target.definition, seed, owned, facts.snap)

    def result(self, ctx: Context, facts: ScheduleFacts) -> dict[str, Any]:
        if facts.resolved is None:
            return {}
        assert self.target is not None
        if self.registered_now:  # what this run locked
            count = len(self.target.definition.allocations)
        else:  # what is still locked (our own pots' datums)
            count = len(self.target.facts(ctx).locked) if facts.seed_spent else 0
        return {"contract_address": facts.resolved.schedule.allocation_address, "registered": facts.seed_spent,
                "locked_allocations": count}
