"""``milestones validate | plan | apply | status PLAN``.

This module is the edge for plans: it reads the environment (only the names a plan
lists reach the templates), opens the chain and prints; checking a plan is
``runner.plan`` (pure), running it is ``runner.commands.plans_engine`` on the engine.
Registered on the root app by one import line in ``runner/cli.py``.

Output: human progress on stderr (rich) and a summary on stdout; with ``--output json``
an NDJSON event stream on stdout whose first event names the format and its version.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runner.app import app, state
from runner.config import Config, load_config
from runner.errors import UserInputError
from runner.plan import Inputs, Plan, PlanInvalid, PlanSource, Problem, check_plan, parse_var
from runner.store.atomic import write_bytes_atomic

if TYPE_CHECKING:  # the engine (and pycardano) load only for plan / apply / status, not validate
    from runner.commands.plans_engine import PlanRun, StepOutcome
    from runner.engine import events

VarOption = Annotated[list[str] | None, typer.Option("--var", help="NAME=VALUE for templates (repeatable).")]
VarFileOption = Annotated[list[Path] | None, typer.Option("--var-file", help="YAML/JSON file of variables (repeatable).")]


def plan_inputs(var: list[str] | None, var_file: list[Path] | None, *, check_key_files: bool = True) -> Inputs:
    """The caller's additions to a plan; the environment is passed whole but read only by listed name."""
    variables = dict(parse_var(item) for item in var or [])
    return Inputs(variables, tuple(str(f) for f in var_file or []), dict(os.environ), check_key_files)


@app.command("validate")
def validate(
    plans: Annotated[list[Path], typer.Argument(help="Plan files to check.", show_default=False)],
    var: VarOption = None,
    var_file: VarFileOption = None,
    no_key_files: Annotated[bool, typer.Option("--no-key-files",
                                               help="Do not require key files to exist (CI jobs without secrets).")] = False,
) -> None:
    """Check plans without touching the network: YAML, templates, schema, names, files.

    Every problem of every plan is reported in one run, each with file:line:column and
    JSON path; exit 2 if there is any.
    """
    inputs = plan_inputs(var, var_file, check_key_files=not no_key_files)
    problems: list[Problem] = []
    valid: list[dict[str, object]] = []
    for path in plans:
        plan, found = check_plan(path, inputs)
        problems.extend(found)
        if plan is not None:
            valid.append({"plan": str(path), "name": plan.name, "network": plan.network, "steps": len(plan.steps),
                          "allocations": len(plan.schedule.allocations)})
    if state.output == "json" and not problems:
        typer.echo(json.dumps({"status": "valid", "plans": valid}))
    elif state.output != "json":
        for item in valid:
            typer.echo(f"{item['plan']}: valid ({item['network']}, {item['steps']} steps, "
                       f"{item['allocations']} allocations)")
    if problems:
        raise PlanInvalid(problems)


# ---------------------------------------------------------------- plan / apply / status

EVENTS_FORMAT = "milestones.plan-events"
EVENTS_VERSION = 1
#: additions that break no reader of version 1 (1: ``confirmations`` on status' PlanStep events)
EVENTS_MINOR = 1
SAVED_FORMAT = "milestones.saved-plan"
MAX_ROUNDS = 200
PlanArgument = Annotated[Path, typer.Argument(help="The plan file (apply: or a file saved by `plan --out`).",
                                              show_default=False)]
ReportOption = Annotated[Path | None, typer.Option("--report", help="Write a Markdown distribution report here.")]


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


class Printer:
    """Human progress (stderr) or NDJSON events (stdout); the first JSON event names the format."""

    def __init__(self, mode: str, plan: Plan) -> None:
        self.json = state.output == "json"
        self.console = _console()
        if self.json:
            self.line({"v": EVENTS_VERSION, "event": "PlanFormat", "format": EVENTS_FORMAT, "version": EVENTS_VERSION,
                       "minor": EVENTS_MINOR, "mode": mode, "plan": plan.file, "name": plan.name, "network": plan.network})

    def line(self, value: dict[str, Any]) -> None:
        typer.echo(json.dumps(value, default=str))

    def engine_event(self, event: events.Event) -> None:
        if self.json:
            self.line(event.to_json())

    def step(self, outcome: StepOutcome) -> None:
        if self.json:
            self.line({"v": EVENTS_VERSION, **outcome.to_json()})
            return
        mark = {"noop": "[green]=[/]", "changed": "[yellow]+[/]", "planned": "[cyan]~[/]", "unknown": "[cyan]?[/]",
                "in doubt": "[red]![/]"}
        fees = sum(t["fee"] for t in outcome.txs)
        extra = f" ({len(outcome.txs)} tx, fees {fees / 1e6:.6f} ADA)" if outcome.txs else ""
        self.console.print(f"{mark[outcome.status]} {outcome.id} [dim]{outcome.kind}[/]: "
                           f"{_escape(outcome.reason)}{extra}")
        for tx in outcome.confirmations or ():
            self.console.print(f"    tx {_escape(tx.text())}")

    def finish(self, summary: dict[str, Any]) -> None:
        if self.json:
            self.line({"v": EVENTS_VERSION, "event": "PlanFinished", **summary})
        else:
            typer.echo(summary["text"])


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _read_plan(path: Path, inputs: Inputs) -> tuple[PlanSource, Plan]:
    source = PlanSource.read(path, inputs)
    plan, problems = source.render({})
    if plan is None:
        raise PlanInvalid(problems)
    return source, plan


def _config(plan: Plan) -> tuple[Config, bool]:
    """Flags > environment > the plan's backend > the config file; the plan names the network."""
    from runner.domain.schedule import canonical_network

    flag = state.overrides.get("network")
    if flag is not None and canonical_network(flag) != canonical_network(plan.network):
        raise UserInputError(f"--network {flag} but the plan is for {plan.network}", location="--network",
                             hint="drop --network; the plan names its network")
    config = load_config(state.config_path, overrides={**state.overrides, "network": plan.network})
    env_urls = bool(os.environ.get("OGMIOS_URL") or os.environ.get("KUPO_URL"))
    if not env_urls and plan.backend.ogmios_url:
        config = dataclasses.replace(config, ogmios_url=plan.backend.ogmios_url,
                                     kupo_url=plan.backend.kupo_url or config.kupo_url)
    remote = canonical_network(plan.network) != "devnet" or env_urls or bool(plan.backend.ogmios_url)
    return config, remote


def execute(path: Path, inputs: Inputs, *, mode: str) -> tuple[Plan, list[StepOutcome], PlanRun]:
    """Run the plan in ``mode`` (plan | apply | status) and print as it goes."""
    from runner.commands import plans_check  # noqa: F401  # registers the check step
    from runner.commands.plans_engine import PlanRun
    from runner.engine import Settings, open_context
    source, plan = _read_plan(path, inputs)
    config, remote = _config(plan)
    printer = Printer(mode, plan)
    # a release of many pots takes one round (transaction batch) per payer-UTxO budget: let it
    # run until the step has nothing left to do (each round must make progress or it stops)
    settings = Settings(confirmations=plan.backend.confirmations or 0, max_rounds=MAX_ROUNDS)
    outcomes: list[StepOutcome] = []
    with open_context(config, plan_mode=mode != "apply", settings=settings, command=f"{mode} {path}",
                      remote=remote) as (ctx, connection):
        run = PlanRun(source, ctx, connection, printer.engine_event, on_phase=_crash_hook())
        steps = run.run()
        depths = _status_txs(run) if mode == "status" else None
        while True:
            with printer.console.status(f"{mode}: step {len(outcomes) + 1} of {len(plan.steps)}"):
                outcome = next(steps, None)
            if outcome is None:
                break
            if depths is not None:
                depths.annotate(outcome)
                _in_doubt(ctx, outcome)
            outcomes.append(outcome)
            printer.step(outcome)
        run.final_statuses = _statuses(run, plan)
    changes = [o for o in outcomes if o.status != "noop"]
    txs = [t for o in outcomes for t in o.txs]
    word = {"apply": "applied", "plan": "would change", "status": "pending"}[mode]
    text = (f"no changes: the chain already holds everything {plan.file} describes" if not changes else
            f"{len(changes)} step(s) {word}, {len(txs)} transaction(s), fees "
            f"{sum(t['fee'] for t in txs) / 1e6:.6f} ADA")
    printer.finish({"mode": mode, "changes": len(changes), "transactions": len(txs),
                    "fees": sum(t["fee"] for t in txs), "text": text})
    return plan, outcomes, run


def _status_txs(run: PlanRun) -> Any:
    from runner.commands.plans_status import StatusTxs

    return StatusTxs(run)


def _in_doubt(ctx: Any, outcome: StepOutcome) -> None:
    """A journal entry of this step still open (submitted, fate unknown): the step is in doubt
    until the next apply resolves it against the chain."""
    open_entries = [e for e in ctx.journal.open_entries() if e.step.startswith(f"{outcome.id}:")]
    if open_entries:
        outcome.status = "in doubt"
        outcome.reason = (f"{len(open_entries)} transaction(s) journaled, fate not yet known: "
                          + ", ".join(e.tx_id for e in open_entries) + "; the next apply resolves them")
        outcome.txs = [{"tx_id": e.tx_id, "kind": e.status, "fee": 0, "size": 0} for e in open_entries]


def _crash_hook() -> Any:
    """Test hook: MILESTONES_TEST_PLAN_CRASH_AT=<step id>:<phase> kills this process (SIGKILL) there."""
    at = os.environ.get("MILESTONES_TEST_PLAN_CRASH_AT")

    def hook(where: str) -> None:
        if where == at:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _statuses(run: PlanRun, plan: Plan) -> list[Any]:
    from runner.commands.plans_check import observed
    from runner.commands.plans_keys import load_keys
    from runner.engine.observe import KnownAfterApply

    try:
        current = run.render()  # with the outputs of the steps that ran
        keys = load_keys(current)
        return list(observed(run, current, keys, run.facts(current, keys))["statuses"])
    except (PlanInvalid, KnownAfterApply):
        return []


def _report(target: Path | None, plan: Plan, mode: str, outcomes: list[StepOutcome], run: PlanRun) -> None:
    if target is None:
        return
    from runner.commands import plans_report
    from runner.commands.plans_keys import load_keys

    addresses = load_keys(run.render()).addresses
    text = plans_report.markdown(plan, mode, outcomes, run.final_statuses, addresses)
    write_bytes_atomic(target, text.encode())


@app.command("plan")
def plan_command(
    plan: PlanArgument, var: VarOption = None, var_file: VarFileOption = None,
    detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode",
                                                    help="Exit 0: no changes, 2: changes pending, 1: error.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Save the plan, anchored to the chain, for apply.")] = None,
    report: ReportOption = None,
) -> None:
    """Show what apply would do: transactions, fees, steps already true on chain and why."""
    inputs = plan_inputs(var, var_file)
    checked, outcomes, run = execute(plan, inputs, mode="plan")
    _report(report, checked, "plan", outcomes, run)
    if out is not None:
        from runner.commands import plans_saved

        plans_saved.save(out, plan, inputs, checked, outcomes, run)
    if detailed_exitcode and any(o.status != "noop" for o in outcomes):
        raise typer.Exit(2)


@app.command("apply")
def apply_command(
    plan: PlanArgument, var: VarOption = None, var_file: VarFileOption = None, report: ReportOption = None,
) -> None:
    """Apply the plan: only what the chain does not show yet; a second apply changes nothing."""
    from runner.commands import plans_saved

    inputs = plan_inputs(var, var_file)
    saved = plans_saved.read(plan)
    if saved is not None:
        plan = plans_saved.check_fresh(saved, inputs, lambda p, i: execute(p, i, mode="plan")[1])
    checked, outcomes, run = execute(plan, inputs, mode="apply")
    _report(report, checked, "apply", outcomes, run)


@app.command("status")
def status_command(plan: PlanArgument, var: VarOption = None, var_file: VarFileOption = None) -> None:
    """Per step: done (and why), pending, or in doubt (a journal entry not yet resolved)."""
    execute(plan, plan_inputs(var, var_file), mode="status")
