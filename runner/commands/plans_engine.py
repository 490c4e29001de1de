"""Running a plan through the engine: each plan step becomes engine steps (or a devnet
control, or an offline signature), rendered again with the outputs of the steps before it.

``PlanRun.run()`` yields :class:`StepOutcome` s.  In plan mode nothing is written or
submitted; once a step has pending changes, the steps after it are decided from the chain
as it is now and shown as "known after apply" where they depend on that change.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycardano as pc

from runner.commands.plans_keys import PlanKeys, faucet_policy, load_keys, schedule_target
from runner.domain import claims
from runner.domain import signatures as sig
from runner.domain.problems import Problems
from runner.engine import (
    CertifyStep,
    Context,
    DeployStep,
    Engine,
    ReclaimStep,
    RegisterStep,
    ReleaseStep,
    Selection,
    StakeStep,
    StatusStep,
    Where,
    events,
)
from runner.engine.chainview import ref_text
from runner.engine.observe import KnownAfterApply, ScheduleFacts
from runner.errors import MilestonesError, UserInputError
from runner.plan import Plan, PlanInvalid, PlanSource, Step
from runner.store.atomic import write_json_atomic

UNKNOWN = "(known after apply)"


class ExpectationFailed(MilestonesError):
    """A ``check`` step's expectations disagree with the chain (exit 1)."""

    default_code = "expectation-failed"


@dataclass
class StepOutcome:
    id: str
    kind: str
    status: str  # "noop" | "changed" | "planned" | "unknown"
    reason: str
    outputs: dict[str, Any] = field(default_factory=dict)
    txs: list[dict[str, Any]] = field(default_factory=list)
    #: status: this step's transactions on chain, with their depth (``plans_status.TxDepth``)
    confirmations: list[Any] | None = None

    def to_json(self) -> dict[str, Any]:
        value = {"event": "PlanStep", "step": self.id, "kind": self.kind, "status": self.status,
                 "reason": self.reason, "outputs": self.outputs, "transactions": self.txs}
        if self.confirmations is not None:
            value["confirmations"] = [c.to_json() for c in self.confirmations]
        return value


@dataclass
class PlanRun:
    source: PlanSource
    ctx: Context
    connection: Any
    on_event: Callable[[events.Event], None] = lambda event: None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: bool = False
    last_facts: ScheduleFacts | None = None
    spent: list[str] = field(default_factory=list)  # plan mode: the inputs the planned transactions spend
    #: called with "<step id>:<phase>" at each engine phase (tests kill the process there)
    on_phase: Callable[[str], None] = lambda where: None
    current: str = ""
    _rendered: tuple[frozenset[str] | None, dict[str, Any], Plan] | None = None
    #: schedule facts by definition and chain tip (reading them is costly)
    _facts: dict[str, ScheduleFacts] = field(default_factory=dict)
    _keys: dict[Any, PlanKeys] = field(default_factory=dict)
    final_statuses: list[Any] = field(default_factory=list)

    @property
    def plan_mode(self) -> bool:
        return self.ctx.plan_mode

    def render(self) -> Plan:
        """The plan with the outputs known so far; rendered again only when an output its
        templates read has changed (rendering and checking a 1,000-allocation plan costs ~0.3 s)."""
        if self._rendered is not None:
            reads, seen, cached = self._rendered
            if reads is not None and all(self.outputs.get(i) == seen.get(i) for i in reads):
                return cached
        plan, problems = self.source.render(self.outputs)
        if plan is None:
            raise PlanInvalid(problems)
        reads = self.source.step_reads
        seen = {i: copy.deepcopy(self.outputs[i]) for i in reads or () if i in self.outputs}
        self._rendered = (reads, seen, plan)
        return plan

    def run(self) -> Iterator[StepOutcome]:
        first = self.render()
        for index in range(len(first.steps)):
            plan = self.render()
            step = plan.steps[index]
            self.current = step.id
            keys = self.keys(plan)
            self.ctx.keys = keys.ring
            outcome = HANDLERS[step.kind](self, plan, step, keys)
            # an output only apply knows is left out: templates then see KNOWN_AFTER_APPLY, never the text
            self.outputs[step.id] = {k: v for k, v in outcome.outputs.items() if not _unknown(v)}
            if outcome.status == "changed":
                self._facts.clear()
            self.pending = self.pending or outcome.status in ("planned", "unknown")
            yield outcome

    def keys(self, plan: Plan) -> PlanKeys:
        """The plan's keys, loaded once per distinct ``keys:`` section (key files read once)."""
        signature = (plan.network, plan.base_dir, tuple(sorted(plan.keys.items())))
        if signature not in self._keys:
            self._keys[signature] = load_keys(plan)
        return self._keys[signature]

    # -- engine steps --------------------------------------------------------------------

    def engine(self, plan_step: Step, steps: Sequence[Any]) -> StepOutcome:
        found: list[events.Event] = []
        if self.plan_mode and self.pending:
            found = [self._decide_only(s) for s in steps]
            for event in found:
                self.on_event(event)
        else:
            engine = Engine(self.ctx, on_phase=lambda phase: self.on_phase(f"{self.current}:{phase}"))
            for event in engine.run(steps):
                found.append(event)
                self.on_event(event)
            self.spent.extend(ref_text(i) for txs in engine.built.values() for t in txs for i in t.inputs)
        return outcome_of(plan_step, found)

    def _decide_only(self, step: Any) -> events.Event:
        try:
            decision = step.decide(step.observe(self.ctx))
        except KnownAfterApply:
            return events.Planned(step.id, step.kind, (), True)
        if decision.noop:  # true now, but the pending steps before it may change that
            return events.Planned(step.id, f"decided after the steps before it apply (now: {decision.reason})",
                                  (), True)
        return events.Planned(step.id, decision.reason, (), True)

    def facts(self, plan: Plan, keys: PlanKeys) -> ScheduleFacts:
        """The schedule's facts on chain; read again when the tip moved (anyone's block) or a
        step of ours changed the chain."""
        target = schedule_target(plan, keys, self.connection)
        tip = self.ctx.chain.call(self.ctx.chain.backend.tip)
        key = f"{target.definition.fingerprint()}@{tip.slot}/{tip.height}"
        if key not in self._facts:
            self._facts[key] = StatusStep(where=Where(target=target), id="facts").observe(self.ctx)
        self.last_facts = self._facts[key]
        return self._facts[key]


def _unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def outcome_of(step: Step, found: Sequence[events.Event]) -> StepOutcome:
    txs = [{"tx_id": t.tx_id, "kind": t.kind, "fee": t.fee, "size": t.size}
           for e in found if isinstance(e, events.Planned) for t in e.txs]
    landed = [e.tx_id for e in found if isinstance(e, events.Confirmed)]
    if any(isinstance(e, events.Planned) and e.known_after_apply for e in found):
        status = "unknown"
    elif landed:
        status = "changed"
    elif any(isinstance(e, events.Planned) for e in found):
        status = "planned"
    else:
        status = "noop"
    reasons = [e.reason for e in found if isinstance(e, (events.Noop, events.AlreadyDone))]
    actions = [e.action for e in found if isinstance(e, events.Planned)]
    reason = "; ".join(actions if status != "noop" else reasons) or status
    results: dict[str, Any] = {}
    for e in found:
        if isinstance(e, events.StepFinished):
            results.update(e.result)
    outputs = {"tx_ids": [t["tx_id"] for t in txs] if status != "unknown" else UNKNOWN, "result": results}
    return StepOutcome(step.id, step.kind, status, reason, outputs, txs)


# -- handlers, one per plan step kind ---------------------------------------------------


def _init(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    snap = run.ctx.chain.snapshot()
    outputs = {"network": run.ctx.network, "tip_slot": snap.slot, "tip_time_ms": snap.now_ms,
               "system_start_ms": snap.system_start_ms,
               "faucet_policy_id": faucet_policy(run.connection).hex() if run.ctx.network == "devnet" else None}
    return StepOutcome(step.id, step.kind, "noop", f"chain tip at slot {snap.slot} ({run.ctx.network})", outputs)


def _fund(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    options = step.options
    address = keys.address(options.to)
    policy = faucet_policy(run.connection)
    token = plan.schedule.token.name.encode()
    have_lovelace, have_tokens = _holdings(run.ctx.chain.utxos(address), policy, token)
    outputs = {"address": address, "output_ref": None}
    if have_lovelace >= options.lovelace and have_tokens >= options.tokens:
        return StepOutcome(step.id, step.kind, "noop", f"{address[:24]}... already holds {have_lovelace} lovelace"
                           f"{f' and {have_tokens} tokens' if options.tokens else ''}", outputs)
    if _registered(run, plan, keys):
        return StepOutcome(step.id, step.kind, "noop", "the schedule is registered: its funding is done", outputs)
    reason = f"faucet pays {options.lovelace} lovelace" + (f" and {options.tokens} tokens" if options.tokens else "")
    if run.plan_mode:
        return StepOutcome(step.id, step.kind, "planned", reason, {**outputs, "output_ref": UNKNOWN})
    assets = {token: options.tokens} if options.tokens else None
    if run.connection.embedded is not None:
        ref = run.connection.embedded.write(lambda ledger: ledger.fund(address, options.lovelace, assets))
        outputs["output_ref"] = f"{ref.transaction_id.payload.hex()}#{ref.index}"
    else:
        if options.tokens:
            raise UserInputError("test tokens are minted by the embedded devnet only", location=step.location,
                                 hint="unset OGMIOS_URL/KUPO_URL (and the plan's backend) to use the embedded "
                                      "devnet, or fund ADA only and send the tokens yourself")
        reply = run.connection.devnet_control("devnet/fund", {"address": address, "lovelace": options.lovelace})
        outputs["output_ref"] = reply.get("output")
    return StepOutcome(step.id, step.kind, "changed", reason, outputs)


def _holdings(utxos: Sequence[pc.UTxO], policy: bytes, token: bytes) -> tuple[int, int]:
    lovelace = sum(u.output.amount.coin for u in utxos)
    units = sum(int(u.output.amount.multi_asset.get(pc.ScriptHash(policy), {}).get(pc.AssetName(token), 0))
                for u in utxos)
    return lovelace, units


def _registered(run: PlanRun, plan: Plan, keys: PlanKeys) -> bool:
    try:
        return run.facts(plan, keys).registered
    except PlanInvalid:
        return False


def _advance(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    snap = run.ctx.chain.snapshot()
    now = snap.now_ms
    target, anchor = _advance_target(run, plan, step, snap.system_start_ms)
    if target is None:
        return StepOutcome(step.id, step.kind, "unknown", f"move the devnet clock to {anchor.strip(' ()')}",
                           {"target_ms": UNKNOWN, "tip_slot": UNKNOWN, "tip_time_ms": UNKNOWN})
    if now >= target:
        return StepOutcome(step.id, step.kind, "noop", f"chain time {now} ms is already at or past {target} ms{anchor}",
                           {"target_ms": target, "tip_slot": snap.slot, "tip_time_ms": now})
    if run.plan_mode:
        return StepOutcome(step.id, step.kind, "planned", f"move the devnet clock from {now} to {target} ms{anchor}",
                           {"target_ms": target, "tip_slot": UNKNOWN, "tip_time_ms": target})
    run.connection.devnet_control("devnet/advance", {"posixMs": target})
    run.connection.devnet_control("devnet/tick", {})
    snap = run.ctx.chain.snapshot()
    return StepOutcome(step.id, step.kind, "changed", f"moved the devnet clock from {now} to {snap.now_ms} ms",
                       {"target_ms": target, "tip_slot": snap.slot, "tip_time_ms": snap.now_ms})


def _advance_target(run: PlanRun, plan: Plan, step: Step, system_start_ms: int) -> tuple[int | None, str]:
    """``to``: that time.  ``by``: after the previous advance-time step's target, or after the
    chain's start for the first one; never after "now", so a finished plan stays finished
    (a second apply finds the clock already there and moves nothing)."""
    if step.options.to_ms is not None:
        to = step.options.to_ms
        return (to, "") if isinstance(to, int) else (None, "a time known after apply")
    by = step.options.by_ms
    if not isinstance(by, int):
        return None, "a time known after apply"
    earlier = [s for s in plan.steps[:[s.id for s in plan.steps].index(step.id)] if s.kind == "advance-time"]
    if not earlier:
        return system_start_ms + by, f" ({by} ms after the chain's start)"
    anchor = run.outputs.get(earlier[-1].id, {}).get("target_ms")
    if not isinstance(anchor, int):
        return None, f"{by} ms after step {earlier[-1].id}'s target, known after apply"
    return anchor + by, f" ({by} ms after step {earlier[-1].id}'s target)"


def _deploy(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    target = schedule_target(plan, keys, run.connection, step.options.payer)
    outcome = run.engine(step, [DeployStep(target=target, id=f"{step.id}:deploy"),
                                StakeStep(target=target, id=f"{step.id}:stake")])
    result = outcome.outputs.pop("result", {})
    outcome.outputs.update(allocation_address=result.get("contract_address", UNKNOWN),
                           certificate_address=result.get("certificate_address", UNKNOWN),
                           policy_id=result.get("certificate_policy_id", UNKNOWN))
    return outcome


def _register(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    target = schedule_target(plan, keys, run.connection)
    outcome = run.engine(step, [RegisterStep(target=target, id=f"{step.id}:register")])
    result = outcome.outputs.pop("result", {})
    outcome.outputs["allocations"] = result.get("locked_allocations", UNKNOWN)
    return outcome


def _sign(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    options = step.options
    path = (run.ctx.data.root / options.out).absolute()  # a relative data dir must not be read from the plan folder
    facts = run.facts(plan, keys)
    outputs: dict[str, Any] = {"signatures_file": str(path), "signatures": len(options.oracles)}
    if facts.resolved is None:
        return StepOutcome(step.id, step.kind, "unknown", "the certificate message needs the deployed schedule",
                           outputs)
    if options.milestone in facts.certificates:
        return StepOutcome(step.id, step.kind, "noop", f"milestone {options.milestone} is certified on chain: "
                           "no signatures needed", outputs)
    message = facts.resolved.schedule.message(options.milestone)
    existing = _read_signatures(path)
    wanted = {keys.addresses[o]: keys.hashes[o] for o in options.oracles}
    have = {e["oracle_address"] for e in existing if e.get("signed_data") == message.hex()}
    missing = [a for a in wanted if a not in have]
    if not missing:
        return StepOutcome(step.id, step.kind, "noop", f"{path.name} already holds these oracles' signatures",
                           outputs)
    if run.plan_mode:
        return StepOutcome(step.id, step.kind, "planned", f"{len(missing)} oracle(s) sign {options.milestone}", outputs)
    entries = [e for e in existing if e.get("oracle_address") not in missing]
    for address in missing:
        vkey, signature = sig.sign_message(keys.ring.raw_seed(wanted[address]), message)
        entries.append(sig.OracleSignature(len(entries), address, vkey, signature, message, 0).to_json())
    write_json_atomic(path, entries)
    return StepOutcome(step.id, step.kind, "changed", f"{len(missing)} oracle(s) signed {options.milestone}", outputs)


def _read_signatures(path: Path) -> list[dict[str, Any]]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _commit(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    from runner.commands import seed_inputs

    options = step.options
    facts = run.facts(plan, keys)
    if facts.resolved is None or (run.plan_mode and run.pending and options.milestone not in facts.certificates):
        return StepOutcome(step.id, step.kind, "unknown", f"certify {options.milestone}", {"tx_id": UNKNOWN,
                                                                                           "certified": UNKNOWN})
    path = Path(options.signatures)
    path = path if path.is_absolute() else Path(plan.base_dir) / path
    certify = CertifyStep(where=Where(target=schedule_target(plan, keys, run.connection)), milestone=options.milestone,
                          payer_address=keys.addresses[options.payer or plan.schedule.owner],
                          id=f"{step.id}:certify:{options.milestone}")
    if options.milestone not in facts.certificates:
        problems = Problems()
        parsed = sig.parse_signatures(_text(path, problems), str(path), run.ctx.network, problems)
        verified = seed_inputs.verify_for_commit(run.ctx, facts.resolved, parsed, options.milestone, str(path),
                                                 None, None, problems)
        certify.signatures = verified.accepted
        if not run.plan_mode:
            seed_inputs.write_milestone_file(run.ctx, facts.resolved, options.milestone, verified)
    outcome = run.engine(step, [certify])
    result = outcome.outputs.pop("result", {})
    outcome.outputs.update(certified=result.get("certified", UNKNOWN),
                           tx_id=(outcome.outputs["tx_ids"] or [None])[0] if outcome.status != "unknown" else UNKNOWN)
    return outcome


def _text(path: Path, problems: Problems) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(str(path), f"cannot read the signatures file: {exc}")
        return "[]"


def _release(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    select = step.options.select
    beneficiary = keys.address(select.beneficiary) if select.beneficiary else None
    release = ReleaseStep(where=Where(target=schedule_target(plan, keys, run.connection)),
                          selection=Selection(beneficiary, select.milestone),
                          payer_address=keys.addresses[step.options.payer or plan.schedule.owner],
                          id=f"{step.id}:release")
    outcome = run.engine(step, [release])
    result = outcome.outputs.pop("result", {})
    released = [a for a in result.get("allocations", []) if a.get("reason") == claims.Reason.ALREADY_RELEASED.value]
    outcome.outputs.update(released=len(released) if outcome.status != "unknown" else UNKNOWN,
                           fees=sum(t["fee"] for t in outcome.txs))
    return outcome


def _reclaim(run: PlanRun, plan: Plan, step: Step, keys: PlanKeys) -> StepOutcome:
    target = schedule_target(plan, keys, run.connection)
    outcome = run.engine(step, [ReclaimStep(where=Where(target=target), owner_address=target.owner_address,
                                            id=f"{step.id}:reclaim")])
    outcome.outputs.pop("result", None)
    if outcome.status == "changed":
        facts = run.facts(plan, keys)
        outcome.outputs["reclaimed"] = len(facts.reclaimed_keys)
    return outcome


HANDLERS: dict[str, Callable[[PlanRun, Plan, Step, PlanKeys], StepOutcome]] = {
    "init": _init, "fund": _fund, "advance-time": _advance, "deploy": _deploy, "register": _register,
    "sign": _sign, "commit": _commit, "release": _release, "reclaim": _reclaim,
}
