"""The seed commands' work (declared in ``seed.py``, imported when a command runs).

Each builds its steps and runs them through :class:`runner.engine.Engine`; see
``seed.py`` for the list and docs/engine.md for the behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runner.cli import state
from runner.commands import seed_inputs as inputs
from runner.commands import seed_payer
from runner.commands.seed import (
    Confirmations,
    ContractAddress,
    NoSubmit,
    Output,
    Timeout,
    _crash_hook,
    _emit,
    _fmt,
    _progress,
    remote_chain,
)
from runner.domain import signatures as sig
from runner.domain.problems import Problems
from runner.domain.schedule import canonical_network, ledger_network
from runner.engine import (
    CertifyStep,
    Context,
    DeployStep,
    Engine,
    KeyRing,
    ReclaimStep,
    RegisterStep,
    ReleaseStep,
    Selection,
    Settings,
    StakeStep,
    StatusStep,
    Where,
    events,
    open_context,
    reports,
)
from runner.engine.chainview import Retry
from runner.engine.run import sign_only, signed_envelope
from runner.errors import UserInputError
from runner.store.atomic import write_json_atomic
from runner.store.datadir import DataDir, milestone_file


def run_steps(steps: Sequence[Any], *, keys: KeyRing | None = None, plan: bool = False, fmt: str = "text",
              command: str = "", confirmations: int = 0, timeout: float = 120.0,
              precheck: Callable[[Context], None] | None = None,
              after: Callable[[Context, Engine], None] | None = None) -> tuple[Engine, list[events.Event], Context]:
    """Run ``steps`` as one plan; returns the engine, its events and the context.
    ``precheck`` validates input against the chain before anything is built."""
    settings = Settings(confirmations=confirmations, confirm_timeout=timeout)
    with open_context(state.config(), keys=keys, plan_mode=plan, settings=settings, command=command,
                      remote=remote_chain()) as (ctx, _):
        hook = _crash_hook()
        ctx.data.on_write = hook
        if precheck is not None:
            precheck(ctx)
        engine = Engine(ctx, on_phase=hook)
        found = []
        for event in engine.run(steps):
            found.append(event)
            _progress(event, fmt)
        if after is not None:
            after(ctx, engine)
        return engine, found, ctx




def _write_envelopes(folder: Path, engine: Engine, ctx: Any) -> list[str]:
    written = []
    for step_id, txs in engine.built.items():
        for n, tx in enumerate(sign_only(ctx, txs)):
            path = folder / f"{step_id.split(':')[0]}-{n}.signed"
            write_json_atomic(path, signed_envelope(tx.to_cbor().hex(), f"{step_id} {tx.id}"))
            written.append(str(path))
    return written


# ---------------------------------------------------------------- init


def init(
    network: str | None = None,
    output: Output = None,
) -> None:
    """Connect to Ogmios, Kupo and the node; report versions and Kupo's sync status."""
    fmt = _fmt(output)
    if network is not None:
        state.overrides["network"] = network
    config = state.config()
    with open_context(config, plan_mode=True, remote=remote_chain(),
                      retry=Retry(attempts=1)) as (ctx, connection):
        health = connection.ogmios_health(config.ogmios_url)
        tip = ctx.chain.call(ctx.chain.backend.tip)
        kupo = getattr(ctx.chain.backend, "kupo", None)
        checkpoint = ctx.chain.call(kupo.health).most_recent_checkpoint if kupo is not None else None
    synced = checkpoint is not None and checkpoint >= tip.slot
    value = {"status": "success", "services": {
        "ogmios": {"connected": True, "version": health.get("version", "unknown")},
        "kupo": {"connected": True, "sync_status": "synced" if synced else "syncing",
                 "checkpoint_slot": checkpoint, "node_tip_slot": tip.slot},
        "cardano_node": {"connected": True, "network": canonical_network(config.network),
                         "tip_slot": tip.slot, "tip_height": tip.height}},
        "backend": connection.description}
    _emit(value, fmt, f"connected: {connection.description}; tip slot {tip.slot}; Kupo "
                      f"{'synced' if synced else 'syncing'}")


# ---------------------------------------------------------------- register


def register_milestone(
    token_policy_id: str,
    beneficiary_allocations: Path,
    oracle_addresses: str,
    quorum_threshold: int,
    owner_key: Path,
    token_name: str = "",
    funding_key: Path | None = None,
    expiry: int | None = None,
    expiry_ms: int | None = None,
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """Check everything, print the datums and the contract address, deploy and lock."""
    fmt = _fmt(output)
    network = canonical_network(state.config().network)
    keys = KeyRing()
    owner_hash = keys.load(owner_key, "--owner-key")
    payer_hash = keys.load(funding_key, "--funding-key") if funding_key else owner_hash
    target = inputs.schedule_target(network, beneficiary_allocations, oracle_addresses, quorum_threshold,
                                    token_policy_id, token_name, owner_hash, payer_hash, expiry, expiry_ms, keys)
    steps = [DeployStep(target=target, id="deploy"), StakeStep(target=target, id="stake"),
             RegisterStep(target=target, id="register")]
    paid_with = funding_key or owner_key

    def after(ctx: Context, engine: Engine) -> None:
        if not ctx.plan_mode:  # commit-milestone's default payer (the guide's commit names no key)
            seed_payer.remember(ctx.data, paid_with, target.payer_address)

    engine, found, ctx = run_steps(steps, keys=keys, plan=no_submit is not None, fmt=fmt,
                                   command="register-milestone", confirmations=confirmations, timeout=timeout,
                                   precheck=lambda c: inputs.check_against_chain(c, target, beneficiary_allocations),
                                   after=after)
    result = {**engine.results.get("deploy", {}), **engine.results.get("register", {})}
    envelopes = _write_envelopes(no_submit, engine, ctx) if no_submit is not None else []
    value = {"status": "planned" if no_submit else "success", **result,
             "datums": inputs.datums(target.definition), "transactions": reports.transactions(found),
             **({"envelopes": envelopes} if envelopes else {}), **reports.side_notes(found)}
    _emit(value, fmt, f"contract address: {result.get('contract_address', '(known after apply)')}")


# ---------------------------------------------------------------- oracles: sign, commit


def _schedule_of(ctx: Context, contract_address: str) -> Any:
    from runner.engine import discovery

    return discovery.by_address(ctx, contract_address)


def sign_milestone(
    contract_address: ContractAddress,
    milestone_identifier: str,
    oracle_key: Path,
    signatures: Path,
    output: Output = None,
) -> None:
    """Oracle side: sign the milestone's canonical certificate message into a signatures file."""
    fmt = _fmt(output)
    keys = KeyRing()
    key_hash = keys.load(oracle_key, "--oracle-key")
    network = canonical_network(state.config().network)
    problems = Problems()
    existing: list[dict[str, Any]] = []
    if signatures.exists():
        text = inputs.read_text(signatures, "--signatures", problems)
        parsed = sig.parse_signatures(text or "[]", str(signatures), network, problems)
        problems.raise_if_any()
        existing = [s.to_json() for s in parsed]
    with open_context(state.config(), plan_mode=True, remote=remote_chain()) as (ctx, _):
        message = _schedule_of(ctx, contract_address).schedule.message(milestone_identifier)
    vkey, signature = sig.sign_message(keys.raw_seed(key_hash), message)
    me = keys.address(key_hash, ledger_network(network))
    entry = sig.OracleSignature(len(existing), me, vkey, signature, message, int(time.time())).to_json()
    entries = [e for e in existing if e["oracle_address"] != me or e["signed_data"] != message.hex()] + [entry]
    write_json_atomic(signatures, entries)
    _emit({"status": "success", "oracle_address": me, "signatures_file": str(signatures),
           "signed_data": message.hex(), "signature_count": len(entries)}, fmt,
          f"signed {milestone_identifier} as {me}; {len(entries)} signature(s) in {signatures}")


def commit_milestone(
    milestone_identifier: str,
    oracle_signatures: Path,
    funding_key: Path | None = None,
    quorum_threshold: int | None = None,
    total_oracles: int | None = None,
    contract_address: str | None = None,
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """Verify the oracle signatures, check the quorum, record milestones/<id>.json, certify on chain."""
    fmt = _fmt(output)
    network = canonical_network(state.config().network)
    keys = KeyRing()
    if funding_key is None:
        funding_key, flag = seed_payer.remembered(DataDir(Path(state.config().data_directory))), seed_payer.SHOWN
    else:
        flag = "--funding-key"
    payer = keys.address(keys.load(funding_key, flag), ledger_network(network))
    problems = Problems()
    where = str(oracle_signatures)
    parsed = sig.parse_signatures(inputs.read_text(oracle_signatures, "--oracle-signatures", problems) or "[]",
                                  where, network, problems)
    if not parsed:
        problems.raise_if_any()
    verified_holder: list[sig.Verified] = []

    def precheck(ctx: Context) -> None:
        address = contract_address or inputs.contract_from_signatures(ctx, parsed, where)
        resolved = _schedule_of(ctx, address)
        steps[0].where = Where(contract_address=address)
        verified_holder.append(inputs.verify_for_commit(ctx, resolved, parsed, milestone_identifier, where,
                                                        quorum_threshold, total_oracles, problems))
        steps[0].signatures = verified_holder[0].accepted
        if not ctx.plan_mode:
            inputs.write_milestone_file(ctx, resolved, milestone_identifier, verified_holder[0])

    steps = [CertifyStep(milestone=milestone_identifier, payer_address=payer, id=f"certify:{milestone_identifier}")]
    def after(ctx: Context, engine: Engine) -> None:
        if not ctx.plan_mode:
            from runner.engine.observe import schedule_facts

            inputs.rebuild_milestone_files(ctx, schedule_facts(ctx, _schedule_of(ctx, steps[0].where.contract_address
                                                                                  or "")))

    engine, found, ctx = run_steps(steps, keys=keys, plan=no_submit is not None, fmt=fmt, command="commit-milestone",
                                   confirmations=confirmations, timeout=timeout, precheck=precheck, after=after)
    envelopes = _write_envelopes(no_submit, engine, ctx) if no_submit is not None else []
    result = engine.results.get(steps[0].id, {})
    ignored = [{"entry": i.entry, "reason": i.reason} for i in verified_holder[0].ignored]
    value = {"status": "planned" if no_submit else "success", **result,
             "milestone_file": milestone_file(milestone_identifier),
             "accepted_signatures": len(verified_holder[0].accepted), "ignored_signatures": ignored,
             "transactions": reports.transactions(found), **({"envelopes": envelopes} if envelopes else {}),
             **reports.side_notes(found)}
    _emit(value, fmt, f"milestone {milestone_identifier}: certified={result.get('certified')}")


# ---------------------------------------------------------------- read-only


def check_status(
    contract_address: ContractAddress,
    milestone_identifier: str | None = None,
    output: Output = None,
) -> None:
    """Milestones, quorum and the contract's state, from the chain (repairs the local files)."""
    fmt = _fmt(output)
    step = StatusStep(where=Where(contract_address=contract_address), id="status")

    def precheck(ctx: Context) -> None:
        ctx.data.check_all()

    rebuilt: list[str] = []

    def after(ctx: Context, engine: Engine) -> None:
        assert step.facts_seen is not None
        rebuilt.extend(inputs.rebuild_milestone_files(ctx, step.facts_seen))

    _, found, _ = run_steps([step], fmt=fmt, command="check-status", precheck=precheck, after=after)
    assert step.facts_seen is not None
    value = {**reports.check_status(step.facts_seen, milestone_identifier), **reports.side_notes(found)}
    value.pop("already_done", None)
    if rebuilt:
        value["rebuilt_from_chain"] = rebuilt
    _emit(value, fmt, "\n".join(f"{m['milestone_identifier']}: verified={m['verified']} "
                                f"vesting_passed={m['vesting_passed']}" for m in value["milestones"]))


def calculate_distribution(
    contract_address: ContractAddress,
    beneficiary_address: str,
    output: Output = None,
) -> None:
    """Claimable tokens of one beneficiary, with a reason per allocation."""
    fmt = _fmt(output)
    network = canonical_network(state.config().network)
    beneficiary = inputs.key_address(beneficiary_address, network, "--beneficiary-address")
    assert beneficiary is not None
    step = StatusStep(where=Where(contract_address=contract_address), id="status")
    run_steps([step], fmt=fmt, command="calculate-distribution")
    assert step.facts_seen is not None
    value = reports.distribution(step.facts_seen, beneficiary)
    _emit(value, fmt, f"claimable: {value['claimable_amount']}")


# ---------------------------------------------------------------- release, reclaim


def submit_release(
    contract_address: ContractAddress,
    signing_key_path: Path,
    beneficiary_address: str | None = None,
    beneficiary_index: int | None = None,
    milestone_identifier: str | None = None,
    release_all: bool = False,
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """Release one allocation, a beneficiary's, a milestone's, or all, in the fewest transactions."""
    fmt = _fmt(output)
    network = canonical_network(state.config().network)
    if not release_all and beneficiary_address is None and milestone_identifier is None:
        raise UserInputError("say what to release", location="submit-release",
                             hint="--beneficiary-address and/or --milestone-identifier, or --all")
    if beneficiary_index is not None and milestone_identifier is None:
        raise UserInputError("--beneficiary-index counts within one milestone's allocations",
                             location=f"--beneficiary-index {beneficiary_index}",
                             hint="add --milestone-identifier (or use --beneficiary-address alone)")
    beneficiary = inputs.key_address(beneficiary_address, network, "--beneficiary-address")
    keys = KeyRing()
    payer = keys.address(keys.load(signing_key_path, "--signing-key-path"), ledger_network(network))
    who = beneficiary or (f"#{beneficiary_index}" if beneficiary_index is not None else "*")
    step = ReleaseStep(where=Where(contract_address=contract_address), payer_address=payer,
                       selection=Selection(beneficiary, milestone_identifier, beneficiary_index),
                       id=f"release:{who}:{milestone_identifier or '*'}")
    engine, found, ctx = run_steps([step], keys=keys, plan=no_submit is not None, fmt=fmt, command="submit-release",
                                   confirmations=confirmations, timeout=timeout)
    envelopes = _write_envelopes(no_submit, engine, ctx) if no_submit is not None else []
    txs = reports.transactions(found)
    first = txs[0] if txs else {}
    noop = next((e.reason for e in found if isinstance(e, events.Noop)), None)
    status = first.get("status", "planned") if txs else ("already released" if noop and "already released" in noop
                                                          else "nothing to release")
    value = {"transaction_hash": first.get("transaction_hash"), "status": status,
             "fee_estimate": sum(t["fee"] for t in txs), "collateral_amount": first.get("collateral_amount", 0),
             "transactions": txs, **engine.results.get(step.id, {}),
             **({"reason": noop} if noop else {}), **({"envelopes": envelopes} if envelopes else {}),
             **reports.side_notes(found)}
    _emit(value, fmt, f"{status}: {', '.join(t['transaction_hash'] for t in txs) or noop}")


def reclaim(
    contract_address: ContractAddress,
    owner_key: Path,
    no_submit: NoSubmit = None, confirmations: Confirmations = 0, timeout: Timeout = 120.0, output: Output = None,
) -> None:
    """After expiry, the owner takes back everything left at the contract address."""
    fmt = _fmt(output)
    network = canonical_network(state.config().network)
    keys = KeyRing()
    owner = keys.address(keys.load(owner_key, "--owner-key"), ledger_network(network))
    step = ReclaimStep(where=Where(contract_address=contract_address), owner_address=owner, id="reclaim")
    engine, found, ctx = run_steps([step], keys=keys, plan=no_submit is not None, fmt=fmt, command="reclaim",
                                   confirmations=confirmations, timeout=timeout)
    envelopes = _write_envelopes(no_submit, engine, ctx) if no_submit is not None else []
    txs = reports.transactions(found)
    _emit({"status": "planned" if no_submit else ("success" if txs else "nothing to reclaim"), "transactions": txs,
           **({"envelopes": envelopes} if envelopes else {}), **reports.side_notes(found)}, fmt,
          f"{len(txs)} reclaim transaction(s)")

