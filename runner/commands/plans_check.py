"""The plan step ``check``: expectations against the chain; any difference fails the run.

Registered into :data:`runner.commands.plans_engine.HANDLERS` on import.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pycardano as pc

from runner.commands.plans_engine import HANDLERS, ExpectationFailed, PlanRun, StepOutcome
from runner.commands.plans_keys import PlanKeys, faucet_policy, schedule_target
from runner.domain import claims
from runner.engine.observe import ScheduleFacts
from runner.plan import Plan, Step


def observed(run: PlanRun, plan: Plan, keys: PlanKeys, facts: ScheduleFacts) -> dict[str, Any]:
    """What the chain shows, in the expectations' terms."""
    target = schedule_target(plan, keys, run.connection)
    found = claims.statuses(target.definition.allocations, facts.claim_facts())
    reasons = Counter(s.reason for s in found)
    return {"released": reasons[claims.Reason.ALREADY_RELEASED], "reclaimed": reasons[claims.Reason.RECLAIMED],
            "claimable": reasons[claims.Reason.CLAIMABLE], "locked": len({item.key for item in facts.locked}),
            "remaining_tokens": sum(item.amount for item in facts.locked),
            "certified": set(facts.certificates), "statuses": found}


def token_balance(run: PlanRun, plan: Plan, address: str) -> int:
    token = plan.schedule.token
    policy = faucet_policy(run.connection) if token.policy_id == "devnet-faucet" else bytes.fromhex(token.policy_id)
    units = 0
    for utxo in run.ctx.chain.utxos(address):
        assets = utxo.output.amount.multi_asset.get(pc.ScriptHash(policy), {})
        units += int(assets.get(pc.AssetName(token.name.encode()), 0))
    return units


def differences(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> list[str]:
    expect = step.options.expect
    seen = observed(run, plan, keys, run.facts(plan, keys))
    found = []
    for milestone, certified in sorted(expect.certified.items()):
        if (milestone in seen["certified"]) != certified:
            found.append(f"milestone {milestone}: expected certified={str(certified).lower()}, "
                         f"the chain shows certified={str(milestone in seen['certified']).lower()}")
    for name in ("released", "locked", "reclaimed", "claimable", "remaining_tokens"):
        wanted = getattr(expect, name)
        if wanted is not None and wanted != seen[name]:
            label = name.replace("_", " ") if name == "remaining_tokens" else f"{name} allocations"
            found.append(f"{label}: expected {wanted}, the chain shows {seen[name]}")
    for holder, tokens in expect.balances:
        have = token_balance(run, plan, keys.address(holder))
        if have != tokens:
            found.append(f"balance of {holder}: expected {tokens} tokens, the chain shows {have}")
    return found


def _check(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    if run.plan_mode and run.pending:
        return StepOutcome(step.id, step.kind, "unknown", "checked once the steps before it have applied", {})
    wrong = differences(run, plan, step, keys)
    if wrong:
        raise ExpectationFailed(f"check '{step.id}' failed: " + "; ".join(wrong), location=step.location,
                                hint="the chain disagrees with the plan's expectations; `milestones status` shows "
                                     "what is on chain")
    return StepOutcome(step.id, step.kind, "noop", "every expectation holds on chain", {})


HANDLERS["check"] = _check
