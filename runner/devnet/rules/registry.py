"""One transaction against one ledger state: resolution, the phase-1 rule registry, phase 2.

Resolution (:func:`resolve`) derives every fact the rules read (resolved outputs,
certificate effects, verified signers, needed scripts) and never raises. The rules in
:data:`PHASE1` then only read: each is named after the cardano-ledger predicate failure
it mirrors, raises only its own Ogmios codes (one rule per code), and can run alone over
a resolved transaction. They run in the ledger's order (UTXO size and inputs, interval,
network, outputs, LEDGER/CERTS, UTXOW witnesses, fees and value, collateral, budgets,
metadata); the first failure is the answer. Then the scripts run under their declared
budgets (:func:`run_phase2`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycardano import ExecutionUnits

from runner.devnet.ledger.clock import SlotConfig
from runner.devnet.ledger.types import ParsedTx
from runner.devnet.rules import certs
from runner.devnet.rules import utxo as rules
from runner.devnet.rules import witness as wit
from runner.devnet.rules.certs import CertEffects
from runner.devnet.rules.witness import WitnessFacts
from runner.errors import LedgerRejection, ScriptFailure

Check = Callable[[rules.RuleContext, ParsedTx], None]


@dataclass(frozen=True)
class Rule:
    """One phase-1 rule: the cardano-ledger predicate failure it mirrors, the STS rule
    that raises it, the Ogmios codes it may raise (no other rule raises them)."""

    predicate: str
    sts: str
    codes: tuple[int, ...]
    check: Check


@dataclass
class Validation:
    """The outcome of a transaction that passed phase 1 (and phase 2, or failed it as declared)."""

    ptx: ParsedTx
    ctx: rules.RuleContext
    scripts_ok: bool = True
    evaluations: list[Any] = field(default_factory=list)

    @property
    def certs(self) -> CertEffects:
        return self.ctx.certs  # type: ignore[no-any-return]

    @property
    def witness(self) -> WitnessFacts:
        return self.ctx.witness  # type: ignore[no-any-return]


def resolve(ctx: rules.RuleContext, ptx: ParsedTx) -> rules.RuleContext:
    """The facts every rule reads, derived once; never raises (the rules judge)."""
    body = ptx.tx.transaction_body
    wanted = list(body.inputs or []) + list(body.reference_inputs or []) + list(body.collateral or [])
    resolved = {r: ctx.utxo[r] for r in wanted if r in ctx.utxo}
    out = dataclasses.replace(ctx, resolved=resolved, unknown=frozenset(r for r in wanted if r not in resolved),
                              ref_script_size=rules.reference_script_size(resolved, ptx))
    out.certs = certs.certificate_effects(out, ptx)
    out.witness = wit.witness_facts(out, ptx, out.certs)
    return out


def check_devnet_scope(ctx: rules.RuleContext, ptx: ParsedTx) -> None:
    """DevnetOutOfScope, not a ledger rule: what the devnet does not model is refused openly (3997,
    Ogmios' UnexpectedMempoolError) rather than half-applied: governance content,
    certificates other than stake (de)registration and vote delegation, and Plutus V1/V2
    scripts (the devnet evaluates Plutus V3 only)."""
    body = ptx.tx.transaction_body
    if body.voting_procedures or body.proposal_procedures or body.update is not None:
        _out_of_scope("governance votes, proposals and protocol updates are not supported by the devnet",
                      "unsupported governance content", "remove voting/proposal procedures and updates")
    for index, cert in enumerate(body.certificates or []):
        if not certs.is_supported(cert):
            name = type(cert).__name__
            _out_of_scope(f"certificate #{index} ({name}) is not supported by the devnet",
                          f"unsupported certificate {name}",
                          "the devnet supports stake registration, deregistration and vote delegation only")
    old = sorted({(lang, n.script_hash.hex()) for n in ctx.witness.plutus
                  if (lang := wit.LANGUAGE_OF[type(ctx.witness.available[n.script_hash])]) != "PlutusV3"})
    if old:
        names = ", ".join(f"{lang} {h}" for lang, h in old)
        _out_of_scope(f"the devnet evaluates Plutus V3 scripts only; this transaction runs {names}",
                      f"unsupported Plutus language: {names}",
                      "rehearse with Plutus V3 scripts, or against a real node (preview) for V1/V2")


def _out_of_scope(message: str, error: str, hint: str) -> None:
    rules.reject(3997, message, {"error": error}, hint)


def check_metadata_hash_declared(ctx: rules.RuleContext, ptx: ParsedTx) -> None:
    """MissingTxBodyMetadataHash."""
    declared, computed = _metadata_hashes(ptx)
    if declared is None and computed is not None:
        rules.reject(3105, "the transaction has metadata but its body declares no metadata hash",
                     {"metadata": {"hash": computed}}, "set auxiliary_data_hash in the body")


def check_metadata_present(ctx: rules.RuleContext, ptx: ParsedTx) -> None:
    """MissingTxMetadata."""
    declared, computed = _metadata_hashes(ptx)
    if declared is not None and computed is None:
        rules.reject(3106, "the body declares a metadata hash but the transaction has no metadata",
                     {"metadata": {"hash": declared}}, "attach the metadata or drop the hash")


def check_metadata_hash_matches(ctx: rules.RuleContext, ptx: ParsedTx) -> None:
    """ConflictingMetadataHash."""
    declared, computed = _metadata_hashes(ptx)
    if declared is not None and computed is not None and declared != computed:
        rules.reject(3107, "metadata hash does not match the metadata",
                     {"provided": {"hash": declared}, "computed": {"hash": computed}},
                     "recompute auxiliary_data_hash from the attached metadata")


def _metadata_hashes(ptx: ParsedTx) -> tuple[str | None, str | None]:
    declared = ptx.tx.transaction_body.auxiliary_data_hash
    aux = ptx.spans.auxiliary_data
    computed = hashlib.blake2b(aux, digest_size=32).hexdigest() if aux is not None else None
    return (declared.payload.hex() if declared is not None else None), computed


#: The phase-1 rules, in the order the ledger applies them.
PHASE1: tuple[Rule, ...] = (
    Rule("MaxTxSizeUTxO", "UTXO", (3119,), rules.check_size),
    Rule("InputSetEmptyUTxO", "UTXO", (3121,), rules.check_inputs_not_empty),
    Rule("BabbageNonDisjointRefInputs", "UTXO", (3164,), rules.check_reference_inputs_disjoint),
    Rule("BadInputsUTxO", "UTXO", (3117,), rules.check_inputs_known),
    Rule("OutsideValidityIntervalUTxO", "UTXO", (3118,), rules.check_validity_interval),
    Rule("WrongNetwork", "UTXO", (3124,), rules.check_network),
    Rule("OutputTooBigUTxO", "UTXO", (3120,), rules.check_output_value_size),
    Rule("BabbageOutputTooSmallUTxO", "UTXO", (3125,), rules.check_outputs_min_ada),
    Rule("ConwayTxRefScriptsSizeTooBig", "LEDGER", (3166,), rules.check_reference_scripts_size),
    Rule("WithdrawalsNotInRewardsCERTS", "CERTS", (3141,), certs.check_withdrawals_in_rewards),
    Rule("ConwayWdrlNotDelegatedToDRep", "LEDGER", (3150,), certs.check_withdrawals_delegated),
    Rule("ConwayDelegPredFailure", "DELEG", (3145, 3146, 3151, 3140, 3153), certs.check_certificates),
    Rule("InvalidWitnessesUTXOW", "UTXOW", (3100,), wit.check_signatures_valid),
    Rule("MissingScriptWitnessesUTXOW", "UTXOW", (3102,), wit.check_scripts_present),
    Rule("ExtraneousScriptWitnessesUTXOW", "UTXOW", (3104,), wit.check_no_extraneous_scripts),
    Rule("ScriptWitnessNotValidatingUTXOW", "UTXOW", (3103,), wit.check_native_scripts),
    Rule("MissingVKeyWitnessesUTXOW", "UTXOW", (3101,), wit.check_vkey_witnesses),
    Rule("MissingRedeemers", "UTXOW", (3109,), wit.check_redeemers_present),
    Rule("ExtraRedeemers", "UTXOW", (3110,), wit.check_no_extra_redeemers),
    Rule("UnspendableUTxONoDatumHash", "UTXOW", (3114,), wit.check_spent_outputs_have_datums),
    Rule("MissingRequiredDatums", "UTXOW", (3111,), wit.check_datums_present),
    Rule("NotAllowedSupplementalDatums", "UTXOW", (3112,), wit.check_no_supplemental_datums),
    Rule("PPViewHashesDontMatch", "UTXOW", (3113,), wit.check_integrity),
    Rule("DevnetOutOfScope", "devnet", (3997,), check_devnet_scope),
    Rule("FeeTooSmallUTxO", "UTXO", (3122,), rules.check_fee),
    Rule("ValueNotConservedUTxO", "UTXO", (3123,), rules.check_value_preserved),
    Rule("ValidateCollateral", "UTXO", (3132, 3131, 3129, 3133, 3128, 3135), rules.check_collateral),
    Rule("ExUnitsTooBigUTxO", "UTXO", (3134,), rules.check_ex_units),
    Rule("MissingTxBodyMetadataHash", "UTXOW", (3105,), check_metadata_hash_declared),
    Rule("MissingTxMetadata", "UTXOW", (3106,), check_metadata_present),
    Rule("ConflictingMetadataHash", "UTXOW", (3107,), check_metadata_hash_matches),
)
RULES_BY_NAME = {rule.predicate: rule for rule in PHASE1}
#: What evaluation needs before any script can run (Ledger.evaluate: drafts, no fee or signatures)
EVALUATION_PREREQUISITES = ("BadInputsUTxO", "MissingScriptWitnessesUTXOW", "ExtraRedeemers",
                            "MissingRequiredDatums")


def run_rules(ctx: rules.RuleContext, ptx: ParsedTx, registry: tuple[Rule, ...] = PHASE1) -> None:
    """Run ``registry`` in order over a resolved transaction; the first failure is raised."""
    for rule in registry:
        try:
            rule.check(ctx, ptx)
        except LedgerRejection as exc:
            if exc.ogmios_code not in rule.codes:
                raise RuntimeError(f"rule {rule.predicate} raised {exc.ogmios_code}, "
                                   f"which it does not declare") from exc
            raise


def validate_phase1(ctx: rules.RuleContext, ptx: ParsedTx) -> Validation:
    resolved = resolve(ctx, ptx)
    run_rules(resolved, ptx)
    return Validation(ptx, resolved)


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
    from runner.devnet.plutus.phase2 import (
        evaluate_scripts,  # lazy: optional sibling module
    )

    params = ctx.params
    evaluations = evaluate_scripts(
        ptx.tx, validation.ctx.resolved, slot_config, dict(params.cost_models),
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
    checks (pycardano evaluates drafts with zero budgets and fake witnesses); only the
    rules the scripts need (:data:`EVALUATION_PREREQUISITES`)."""
    from runner.devnet.plutus.phase2 import evaluate_scripts  # lazy: optional sibling module

    resolved = resolve(ctx, ptx)
    run_rules(resolved, ptx, tuple(RULES_BY_NAME[name] for name in EVALUATION_PREREQUISITES))
    params = ctx.params
    return list(evaluate_scripts(
        ptx.tx, resolved.resolved, slot_config, dict(params.cost_models), budgets="max",
        max_ex_units=ExecutionUnits(params.max_tx_ex_mem, params.max_tx_ex_steps),
        tx_id=ptx.tx_id, datum_cbor=list(ptx.spans.datum_items),
    ))
