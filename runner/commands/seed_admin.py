"""The quick-start's helper commands: ``fund`` and ``advance-time`` (devnet only) and
``lock list|break`` (the data directory's one-writer lock).  Registered on the same app as
the seed commands (imported by ``runner/commands/seed.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runner.app import app, state
from runner.commands.seed_options import Output, _emit, _fmt, remote_chain
from runner.errors import StateError
from runner.store import lock

# ---------------------------------------------------------------- devnet helpers, lock


@app.command("fund")
def fund(
    address: Annotated[str, typer.Option("--address")],
    lovelace: Annotated[int, typer.Option("--lovelace", min=1)] = 100_000_000,
    tokens: Annotated[list[str] | None, typer.Option("--tokens", help="NAME:QUANTITY test tokens (embedded "
                                                     "devnet; the faucet's policy).")] = None,
    output: Output = None,
) -> None:
    """Devnet only: pay ADA (and test tokens) from the faucet."""
    fmt = _fmt(output)
    from runner.commands import seed_inputs as inputs

    value = inputs.devnet_fund(state.config(), remote_chain(), address, lovelace, tokens or [])
    _emit(value, fmt, f"funded {address}: {value['output']}; token policy {value['token_policy_id']}")


@app.command("advance-time")
def advance_time(
    to_ms: Annotated[int | None, typer.Option("--to-ms", help="POSIX ms to move the clock to.")] = None,
    seconds: Annotated[int | None, typer.Option("--seconds", help="Seconds to move forward.")] = None,
    output: Output = None,
) -> None:
    """Devnet only: move the clock forward and form a block."""
    fmt = _fmt(output)
    from runner.commands import seed_inputs as inputs

    value = inputs.devnet_advance(state.config(), remote_chain(), to_ms, seconds)
    _emit(value, fmt, f"devnet time {value['posix_ms']} ms, slot {value['slot']}")


lock_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The data directory's one-writer lock.")
app.add_typer(lock_app, name="lock")


@lock_app.command("list")
def lock_list(output: Output = None) -> None:
    fmt = _fmt(output)
    info = lock.read_lock(Path(state.config().data_directory))
    _emit({"locks": [info.to_json()] if info else []}, fmt,
          "no lock" if info is None else f"held by {info.owner} pid {info.pid} on {info.host}"
                                         f"{' (stale)' if info.stale else ''}")


@lock_app.command("break")
def lock_break(output: Output = None) -> None:
    fmt = _fmt(output)
    info = lock.break_lock(Path(state.config().data_directory))
    if info is None:
        raise StateError("no lock to break", location=str(state.config().data_directory), code="no-lock")
    _emit({"broken": info.to_json()}, fmt, f"broke the lock of {info.owner} pid {info.pid} on {info.host}")
