"""Options and output helpers shared by the quick-start's commands (``seed.py``,
``seed_admin.py``) and their work (``seed_run.py``): their own module so that neither
imports the other in a circle (tests/test_architecture.py)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runner.app import state
from runner.config import load_config
from runner.errors import UserInputError

if TYPE_CHECKING:  # the engine loads pycardano: imported when a command runs
    from runner.engine import events


Output = Annotated[str | None, typer.Option("--output", help="text or json (overrides the global option).")]
NoSubmit = Annotated[Path | None, typer.Option(
    "--no-submit", help="Build and sign only: write cardano-cli text envelopes into this folder.")]
Confirmations = Annotated[int, typer.Option("--confirmations", help="Blocks on top before a tx counts as done.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each confirmation.")]
ContractAddress = Annotated[str, typer.Option("--contract-address", help="The schedule's contract address.")]


def _fmt(output: str | None) -> str:
    chosen = output or state.output
    if chosen not in ("text", "json"):
        raise UserInputError(f"unknown output format '{chosen}'", location="--output", hint="text or json")
    state.output = chosen
    return chosen


def _crash_hook() -> Any:
    """Test hook: MILESTONES_TEST_CRASH_AT=<phase> kills this process (SIGKILL) at that phase."""
    at = os.environ.get("MILESTONES_TEST_CRASH_AT")

    def hook(phase: str) -> None:
        if phase == at:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _progress(event: events.Event, fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(event.to_json(), default=str), err=True)
        return
    text = {"Noop": lambda e: f"{e.step}: already done: {e.reason}",
            "Planned": lambda e: f"{e.step}: {e.action} ({len(e.txs)} tx, fees {sum(t.fee for t in e.txs)} lovelace)",
            "Submitted": lambda e: f"{e.step}: submitted {e.tx_id}",
            "Confirmed": lambda e: f"{e.step}: confirmed {e.tx_id}",
            "AlreadyDone": lambda e: f"{e.step}: {e.reason}",
            "Recovered": lambda e: f"recovered {e.tx_id}: {e.fate}",
            "Ignored": lambda e: f"{e.step}: ignored {e.what}: {e.reason}",
            "Repaired": lambda e: f"repaired {e.path} ({e.problem}); rebuilt from the chain"}.get(event.name)
    if text is not None:
        typer.echo(text(event), err=True)


def remote_chain() -> bool:
    """Devnet: the embedded ledger unless OGMIOS_URL/KUPO_URL (environment) point elsewhere;
    the config file's URLs alone do not leave the embedded devnet (quick-start layout)."""
    config = state.config()
    if config.network != "devnet":
        return True
    without_env = load_config(state.config_path, environ={}, overrides=state.overrides)
    return (config.ogmios_url, config.kupo_url) != (without_env.ogmios_url, without_env.kupo_url)


def _emit(value: dict[str, Any], fmt: str, text: str) -> None:
    typer.echo(json.dumps(value, indent=2) if fmt == "json" else text)
