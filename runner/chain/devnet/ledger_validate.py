"""One transaction against one ledger state: phase 1, then phase 2 through ``phase2``.

Kept apart from :mod:`ledger` (which owns state, blocks and time) so that the order of
the rules reads in one place. Order: size and deserialisation, inputs, interval,
network, outputs, reference scripts, withdrawals and certificates, witnesses (signatures,
scripts, redeemers, datums, integrity), fee, value, collateral, budgets, metadata hash;
then the scripts run under their declared budgets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pycardano import ExecutionUnits

from runner.chain.devnet import ledger_rules as rules
from runner.chain.devnet.clock import SlotConfig
from runner.chain.devnet.ledger_certs import (
    CertEffects,
    check_withdrawals,
    process_certificates,
)
from runner.chain.devnet.ledger_types import ParsedTx
from runner.chain.devnet.ledger_witness import WitnessResult, check_witnesses
from runner.errors import ScriptFailure


@dataclass
class Validation:
    """The outcome of a transaction that passed phase 1 (and phase 2, or failed it as declared)."""

    ptx: ParsedTx
    certs: CertEffects
    witness: WitnessResult
    scripts_ok: bool = True
    evaluations: list[Any] = field(default_factory=list)


def validate_phase1(ctx: rules.RuleContext, ptx: ParsedTx) -> Validation:
    rules.check_size(ctx, ptx)
    check_unsupported(ptx)
    rules.resolve_inputs(ctx, ptx)
    rules.check_validity_interval(ctx, ptx)
    rules.check_network(ctx, ptx)
    rules.check_outputs(ctx, ptx)
    ref_size = rules.check_reference_scripts(ctx, ptx)
    check_withdrawals(ctx, ptx)
    certs = process_certificates(ctx, ptx)
    witness = check_witnesses(ctx, ptx, certs)
    rules.check_fee(ctx, ptx, ref_size)
    rules.check_value_preserved(ctx, ptx, certs.deposits, certs.refunds)
    if ptx.redeemers():
        rules.check_collateral(ctx, ptx)
        rules.check_ex_units(ctx, ptx)
    check_metadata_hash(ptx)
    return Validation(ptx, certs, witness)


def check_unsupported(ptx: ParsedTx) -> None:
    """Governance is out of the devnet's scope: refuse it openly rather than half-apply it."""
    body = ptx.tx.transaction_body
    if body.voting_procedures or body.proposal_procedures or body.update is not None:
        rules.reject(3997, "governance votes, proposals and protocol updates are not supported by the devnet",
                     {"error": "unsupported governance content"},
                     "remove voting/proposal procedures and updates from the transaction")


def check_metadata_hash(ptx: ParsedTx) -> None:
    declared = ptx.tx.transaction_body.auxiliary_data_hash
    aux = ptx.spans.auxiliary_data
    computed = hashlib.blake2b(aux, digest_size=32).hexdigest() if aux is not None else None
    if declared is None and computed is not None:
        rules.reject(3105, "the transaction has metadata but its body declares no metadata hash",
                     {"metadata": {"hash": computed}}, "set auxiliary_data_hash in the body")
    if declared is not None and computed is None:
        rules.reject(3106, "the body declares a metadata hash but the transaction has no metadata",
                     {"metadata": {"hash": declared.payload.hex()}}, "attach the metadata or drop the hash")
    if declared is not None and computed is not None and declared.payload.hex() != computed:
        rules.reject(3107, "metadata hash does not match the metadata",
                     {"provided": {"hash": declared.payload.hex()}, "computed": {"hash": computed}})


def run_phase2(ctx: rules.RuleContext, validation: Validation, slot_config: SlotConfig) -> None:
    """Run the scripts under their declared budgets and reconcile with the is_valid flag.

    is_valid=true and a script fails: rejected (ScriptFailure, 3010) and nothing happens.
    is_valid=false and a script fails: accepted, collateral is taken (the caller applies).
    is_valid=false and every script passes: rejected (3136), as a node would.
    """
    ptx = validation.ptx
    if not validation.witness.plutus:
        if not ptx.is_valid:
            _mismatch("no script runs, so the transaction cannot be invalid")
        return
    from runner.chain.devnet.phase2 import (
        evaluate_scripts,  # lazy: optional sibling module
    )

    params = ctx.params
    evaluations = evaluate_scripts(
        ptx.tx, ctx.resolved, slot_config, dict(params.cost_models),
        budgets="declared", max_ex_units=ExecutionUnits(params.max_tx_ex_mem, params.max_tx_ex_steps),
        tx_id=ptx.tx_id, datum_cbor=list(ptx.spans.datum_items),
    )
    validation.evaluations = evaluations
    failed = [e for e in evaluations if not e.ok]
    validation.scripts_ok = not failed
    if failed and ptx.is_valid:
        raise script_failure(failed)
    if not failed and not ptx.is_valid:
        _mismatch("every script succeeds, yet the transaction is flagged is_valid=false")


def script_failure(failed: list[Any]) -> ScriptFailure:
    data = [
        {
            "validator": {"purpose": e.tag, "index": e.index},
            "error": {
                "code": 3012,
                "message": "Some scripts of the transactions terminated with error(s).",
                "data": {"validationError": e.error or "script failed", "traces": list(e.logs)},
            },
        }
        for e in failed
    ]
    first = failed[0]
    return ScriptFailure(
        f"{first.tag} script #{first.index} failed: {first.error or 'script failed'}",
        ogmios_code=3010,
        data=data,
        location="devnet ledger, phase 2",
        hint="see data[].error.data.traces for the script's trace messages",
    )


def _mismatch(reason: str) -> None:
    rules.reject(3136, f"is_valid flag mismatch: {reason}",
                 {"declaredSpending": "collaterals", "mismatchReason": reason},
                 "submit with is_valid=true unless a script is meant to fail")


def evaluate_unchecked(ctx: rules.RuleContext, ptx: ParsedTx, slot_config: SlotConfig) -> list[Any]:
    """Scripts under the maximum budget, for ``Ledger.evaluate``: no fee, value or signature
    checks (pycardano evaluates drafts with zero budgets and fake witnesses); only what the
    scripts need: inputs exist, the needed scripts and redeemers line up."""
    from runner.chain.devnet.ledger_witness import needed_scripts
    from runner.chain.devnet.phase2 import evaluate_scripts  # lazy: optional sibling module

    rules.resolve_inputs(ctx, ptx)
    needed_scripts(ctx, ptx, process_certificates(ctx, ptx))
    params = ctx.params
    return list(evaluate_scripts(
        ptx.tx, ctx.resolved, slot_config, dict(params.cost_models), budgets="max",
        max_ex_units=ExecutionUnits(params.max_tx_ex_mem, params.max_tx_ex_steps),
        tx_id=ptx.tx_id, datum_cbor=list(ptx.spans.datum_items),
    ))
