"""The `milestones` command line.

Every ``MilestonesError`` becomes a message on stderr and its exit code; a user never
sees a traceback for a user error. Sub-apps (``devnet``) register themselves here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from runner.config import Config, load_config
from runner.errors import MilestonesError, UserInputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Milestone-gated token distribution on Cardano.")


class State:
    """Options given before the command (``--data-dir``, ``--config``, ``--network``)."""

    def __init__(self) -> None:
        self.config_path: Path | None = None
        self.overrides: dict[str, Any] = {}
        self.output = "text"

    def config(self) -> Config:
        return load_config(self.config_path, overrides=self.overrides)


state = State()


@app.callback()
def _root(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default offchain/data).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Config file (default offchain/config.yaml).")] = None,
    network: Annotated[str | None, typer.Option("--network", help="devnet, preview, preprod, testnet or mainnet.")] = None,
    output: Annotated[str, typer.Option("--output", help="text or json.")] = "text",
) -> None:
    state.config_path = config
    state.overrides = {"data_directory": data_dir, "network": network}
    state.output = output
    if output not in ("text", "json"):
        raise UserInputError(f"unknown output format '{output}'", location="--output",
                             hint="use --output text or --output json")
    state.config()  # a bad config file fails before any command runs


def emit(value: Any) -> None:
    """Print one JSON document (the quick-start's outputs are JSON)."""
    typer.echo(json.dumps(value, indent=2, sort_keys=False))


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
    from runner.chain.devnet.cli import devnet_app

    app.add_typer(devnet_app, name="devnet")


_register_subapps()
import runner.commands.plans  # validate / plan / apply / status register on `app`
import runner.commands.seed  # noqa: F401  # the quick-start's commands register on `app`


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
