"""The quick-start's commands (../shared/seed/quickstart.md), each a one-step plan of the engine.

init, register-milestone, sign-milestone, commit-milestone, check-status,
calculate-distribution, submit-release, reclaim (here), fund, advance-time and
``lock list|break`` (``seed_admin.py``).  This module only declares them (flags, help);
the work is in ``seed_run.py``, imported when a command runs, so that ``milestones
--help`` and the devnet commands do not pay for pycardano and the engine.  Each command
runs its steps through :class:`runner.engine.Engine` (journal, lock, recovery,
idempotency are the engine's) and prints the guide's JSON (``--output json``) or a text
summary; progress events go to stderr.  Signing keys are read from cardano-cli envelopes
and never printed.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runner.cli import app, state
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


@app.command("init")
def init(
    network: Annotated[str | None, typer.Option("--network", help="devnet, preview, preprod, mainnet "
                                                "(testnet = preprod).")] = None,
    output: Output = None,
) -> None:
    """Connect to Ogmios, Kupo and the node; report versions and Kupo's sync status."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.init(**args)


@app.command("register-milestone")
def register_milestone(
    token_policy_id: Annotated[str, typer.Option("--token-policy-id", help="Policy id (hex) of the token.")],
    beneficiary_allocations: Annotated[Path, typer.Option("--beneficiary-allocations",
                                                          help="allocations.json (the guide's format).")],
    oracle_addresses: Annotated[str, typer.Option("--oracle-addresses", help="Comma-separated oracle addresses.")],
    quorum_threshold: Annotated[int, typer.Option("--quorum-threshold", help="Signatures needed (M of N).")],
    owner_key: Annotated[Path, typer.Option("--owner-key", help="Owner's .skey (holds the tokens, reclaims).")],
    token_name: Annotated[str, typer.Option("--token-name", help="Asset name (text).")] = "",
    funding_key: Annotated[Path | None, typer.Option("--funding-key", help=".skey paying the fees.")] = None,
    expiry: Annotated[int | None, typer.Option("--expiry", help="POSIX seconds; default: last vesting + 365 d.")
                      ] = None,
    expiry_ms: Annotated[int | None, typer.Option("--expiry-ms", help="POSIX milliseconds.")] = None,
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """Check everything, print the datums and the contract address, deploy and lock."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.register_milestone(**args)


@app.command("sign-milestone")
def sign_milestone(
    contract_address: ContractAddress,
    milestone_identifier: Annotated[str, typer.Option("--milestone-identifier")],
    oracle_key: Annotated[Path, typer.Option("--oracle-key", help="The oracle's .skey.")],
    signatures: Annotated[Path, typer.Option("--signatures", help="Signatures file to write or extend.")],
    output: Output = None,
) -> None:
    """Oracle side: sign the milestone's canonical certificate message into a signatures file."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.sign_milestone(**args)


@app.command("commit-milestone")
def commit_milestone(
    milestone_identifier: Annotated[str, typer.Option("--milestone-identifier")],
    oracle_signatures: Annotated[Path, typer.Option("--oracle-signatures", help="The signatures file.")],
    funding_key: Annotated[Path | None, typer.Option(
        "--funding-key", help=".skey paying the fee. Default: the key that paid register-milestone in this "
                              "data directory.")] = None,
    quorum_threshold: Annotated[int | None, typer.Option("--quorum-threshold")] = None,
    total_oracles: Annotated[int | None, typer.Option("--total-oracles")] = None,
    contract_address: Annotated[str | None, typer.Option("--contract-address",
                                                         help="Default: found from the signed data.")] = None,
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """Verify the oracle signatures, check the quorum, record milestones/<id>.json, certify on chain."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.commit_milestone(**args)


@app.command("check-status")
def check_status(
    contract_address: ContractAddress,
    milestone_identifier: Annotated[str | None, typer.Option("--milestone-identifier")] = None,
    output: Output = None,
) -> None:
    """Milestones, quorum and the contract's state, from the chain (repairs the local files)."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.check_status(**args)


@app.command("calculate-distribution")
def calculate_distribution(
    contract_address: ContractAddress,
    beneficiary_address: Annotated[str, typer.Option("--beneficiary-address")],
    output: Output = None,
) -> None:
    """Claimable tokens of one beneficiary, with a reason per allocation."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.calculate_distribution(**args)


@app.command("submit-release")
def submit_release(
    contract_address: ContractAddress,
    signing_key_path: Annotated[Path, typer.Option("--signing-key-path", help=".skey paying fees/collateral.")],
    beneficiary_address: Annotated[str | None, typer.Option("--beneficiary-address")] = None,
    beneficiary_index: Annotated[int | None, typer.Option("--beneficiary-index", min=0,
                                                          help="The beneficiary's position (from 0) in the milestone's allocations, "
                                                               "as calculate-distribution shows it; needs "
                                                               "--milestone-identifier.")] = None,
    milestone_identifier: Annotated[str | None, typer.Option("--milestone-identifier")] = None,
    release_all: Annotated[bool, typer.Option("--all", help="Every claimable allocation.")] = False,
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """Release one allocation, a beneficiary's, a milestone's, or all, in the fewest transactions."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.submit_release(**args)


@app.command("reclaim")
def reclaim(
    contract_address: ContractAddress,
    owner_key: Annotated[Path, typer.Option("--owner-key", help="The owner's .skey.")],
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """After expiry, the owner takes back everything left at the contract address."""
    args = dict(locals())
    from runner.commands import seed_run

    seed_run.reclaim(**args)


from runner.commands import seed_admin  # noqa: F401  # fund, advance-time, lock: registered on `app`
