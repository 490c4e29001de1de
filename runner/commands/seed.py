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

from pathlib import Path
from typing import Annotated

import typer

from runner.app import app
from runner.commands.seed_options import Confirmations, ContractAddress, NoSubmit, Output, Timeout


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

