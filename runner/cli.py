"""The `milestones` command line.

Every ``MilestonesError`` becomes a message on stderr and its exit code; a user never
sees a traceback for a user error. Sub-apps (``devnet``) register themselves here.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from runner.app import State, app, emit, state
from runner.errors import MilestonesError

__all__ = ["State", "app", "emit", "main", "state"]

contract_app = typer.Typer(add_completion=False, no_args_is_help=True,
                           help="The on-chain contract: rebuild and check plutus.json.")


@contract_app.command("build")
def _contract_build(
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the committed plutus.json is stale.")] = False,
) -> None:
    """Compile onchain/ with the pinned OpShin into plutus.json (CIP-57 blueprint)."""
    from runner.contract.build import main as build_main

    code = build_main(["--check"] if check else [])
    raise typer.Exit(code)


app.add_typer(contract_app, name="contract")


def _register_subapps() -> None:
    """A sub-app that fails to import is a bug to see, not a command to drop silently."""
    from runner.devnet.cli import devnet_app

    app.add_typer(devnet_app, name="devnet")


_register_subapps()
import runner.commands.plans  # validate / plan / apply / status register on `app`
import runner.commands.seed  # the quick-start's commands register on `app`
import runner.commands.seed_admin  # noqa: F401  # fund, advance-time, lock: registered on `app`


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; click handles usage errors (exit 2), we handle the project's errors."""
    try:
        app(args=argv, prog_name="milestones")
    except MilestonesError as exc:
        if state.output == "json":
            typer.echo(json.dumps({"status": "error", "error": exc.to_dict()}), err=True)
        else:
            typer.echo(f"error[{exc.code}]: {exc}", err=True)
        sys.exit(exc.exit_code)
