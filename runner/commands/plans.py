"""``milestones validate PLAN...`` (and, with the engine, plan / apply / status).

This module is the edge for plans: it reads the environment (only the names a plan
lists reach the templates) and prints; the checking itself is ``runner.plan``, pure.
Registered on the root app by one import line in ``runner/cli.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from runner.cli import app, state
from runner.plan import Inputs, PlanInvalid, Problem, check_plan, parse_var

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
