"""The root ``milestones`` Typer app and the options given before any command.

Its own module so that the command groups (``runner.commands``, ``runner.devnet.cli``)
register on it without importing :mod:`runner.cli`, which imports them: the import graph
has no circle (tests/test_architecture.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from runner.config import Config, load_config
from runner.errors import UserInputError

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
