"""Phase 2: OpShin V3 validators see the ScriptContext where their types expect it.

Each validator is run twice on otherwise identical transactions: the honest one must pass
and the one with a single field wrong must fail; that pins the position and encoding of
each field the validator reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pycardano import (
    ExecutionUnits,
    PlutusV2Script,
    PlutusV3Script,
    Transaction,
    plutus_script_hash,
)
from uplc.tools import flatten, parse

from runner.devnet.plutus.phase2 import NotEvaluable, RedeemerEvaluation, evaluate_scripts, script_contexts
from runner.errors import LedgerRejection
from runner.testing.ledger import assert_ogmios_shape
from runner.testing.phase2_kit import (
    CLOCK,
    COST_MODELS,
    MAX_UNITS,
    STRANGER,
    Spend,
    always_tx,
    compile_script,
    mint_tx,
    uplc_script,
    withdraw_tx,
)


@pytest.fixture(scope="session")
def script_cache(opshin_cache_dir: Path) -> Path:
    return opshin_cache_dir


@pytest.fixture(scope="session")
def lock_script(script_cache: Path) -> PlutusV3Script:
    return compile_script("lock_validator", script_cache)


@pytest.fixture(scope="session")
def mint_script(script_cache: Path) -> PlutusV3Script:
    return compile_script("mint_policy", script_cache)


@pytest.fixture(scope="session")
def withdraw_script(script_cache: Path) -> PlutusV3Script:
    return compile_script("withdraw_script", script_cache)


def run(tx: Transaction, resolved: dict, budgets: str = "declared") -> list[RedeemerEvaluation]:
    return evaluate_scripts(tx, resolved, CLOCK, COST_MODELS, budgets=budgets, max_ex_units=MAX_UNITS)


def run_spend(spend: Spend, budgets: str = "declared") -> RedeemerEvaluation:
    [result] = run(*spend.build(), budgets=budgets)
    assert (result.tag, result.index) == ("spend", result.index)
    return result


# --- spending -------------------------------------------------------------------------


def test_honest_spend_passes_and_reports_its_cost(lock_script):
    result = run_spend(Spend(lock_script))
    assert result.ok, result.error
    assert result.error is None
    assert result.cpu > 0 and result.memory > 0


def test_redeemer_differing_from_the_datum_secret_fails_with_the_trace(lock_script):
    result = run_spend(Spend(lock_script, secret=41))
    assert not result.ok
    assert "wrong secret" in result.logs
    assert result.error and "script failed" in result.error


def test_missing_required_signer_fails(lock_script):
    assert run_spend(Spend(lock_script, signer=None)).logs[-1] == "owner did not sign"
    assert not run_spend(Spend(lock_script, signer=STRANGER)).ok


def test_validity_start_is_the_closed_lower_bound_in_posix_ms(lock_script):
    assert run_spend(Spend(lock_script, validity_start=1_000, not_before_slot=1_000)).ok
    early = run_spend(Spend(lock_script, validity_start=999, not_before_slot=1_000))
    assert early.logs[-1] == "too early"


def test_no_validity_start_is_an_infinite_lower_bound(lock_script):
    result = run_spend(Spend(lock_script, validity_start=None))
    assert result.logs[-1] == "no lower bound"


def test_datum_by_hash_from_the_witness_set_is_found(lock_script):
    assert run_spend(Spend(lock_script, datum_mode="hash")).ok
    assert not run_spend(Spend(lock_script, datum_mode="hash", secret=7)).ok


def test_inline_and_hashed_datums_reach_the_script_alike_but_only_the_hashed_one_is_in_the_datum_map(lock_script):
    """The spent datum is the same in both ScriptInfos; txInfoData holds the witness datum
    only in the hashed case. The contexts differ, so the costs differ too (not equal)."""
    inline_tx, inline_resolved = Spend(lock_script, datum_mode="inline").build()
    hashed_tx, hashed_resolved = Spend(lock_script, datum_mode="hash").build()
    [inline_run] = script_contexts(inline_tx, inline_resolved, CLOCK)
    [hashed_run] = script_contexts(hashed_tx, hashed_resolved, CLOCK)
    assert inline_run.context.fields[2] == hashed_run.context.fields[2]  # SpendingScript(ref, Just datum)
    assert len(inline_run.context.fields[0].fields[10].value) == 0
    assert len(hashed_run.context.fields[0].fields[10].value) == 1
    inline = run_spend(Spend(lock_script, datum_mode="inline"))
    hashed = run_spend(Spend(lock_script, datum_mode="hash"))
    assert inline.ok and hashed.ok
    assert (inline.cpu, inline.memory) != (hashed.cpu, hashed.memory)


def test_map_and_list_redeemers_give_identical_results(lock_script):
    as_list = run_spend(Spend(lock_script, form="list"))
    as_map = run_spend(Spend(lock_script, form="map"))
    assert as_list == as_map
    assert not run_spend(Spend(lock_script, form="map", secret=1)).ok


def test_spend_index_follows_the_sorted_input_order(lock_script):
    spend = Spend(lock_script, fillers=5)
    tx, _ = spend.build()
    # three filler inputs (tx id 0x01...) sort before the script input (0x07...)
    assert tx.transaction_witness_set.redeemer[0].index == 3
    assert run_spend(spend).ok


def test_script_from_a_reference_input_is_used(lock_script):
    spend = Spend(lock_script, by_reference=True)
    tx, _ = spend.build()
    assert tx.transaction_witness_set.plutus_v3_script is None
    assert run_spend(spend).ok


def test_missing_script_cannot_be_evaluated(lock_script):
    """Phase 1's MissingScriptWitnessesUTXOW (3102) reports it to users; evaluation alone says why."""
    tx, resolved = Spend(lock_script).build()
    tx.transaction_witness_set.plutus_v3_script = None
    with pytest.raises(NotEvaluable) as err:
        run(tx, resolved)
    assert plutus_script_hash(lock_script).payload.hex() in str(err.value)


def test_missing_hashed_datum_cannot_be_evaluated(lock_script):
    tx, resolved = Spend(lock_script, datum_mode="hash").build()
    tx.transaction_witness_set.plutus_data = None
    with pytest.raises(NotEvaluable, match="datum with hash"):
        run(tx, resolved)


def test_redeemer_pointing_past_the_inputs_cannot_be_evaluated(lock_script):
    spend = Spend(lock_script)
    tx, resolved = spend.build()
    tx.transaction_witness_set.redeemer[0].index = 5
    with pytest.raises(NotEvaluable, match="spend#5|spend #5|points at no script"):
        run(tx, resolved)


def test_unresolved_input_cannot_be_evaluated(lock_script):
    tx, _ = Spend(lock_script).build()
    with pytest.raises(NotEvaluable, match="07" * 32):
        run(tx, {})


# --- budgets ---------------------------------------------------------------------------


def test_declared_budget_below_the_cost_fails_and_max_budget_measures(lock_script):
    measured = run_spend(Spend(lock_script), budgets="max")
    exact = ExecutionUnits(measured.memory, measured.cpu)
    assert run_spend(Spend(lock_script, units=exact)).ok
    short = run_spend(Spend(lock_script, units=ExecutionUnits(measured.memory, measured.cpu - 1)))
    assert not short.ok and "budget exhausted" in short.error
    assert run_spend(Spend(lock_script, units=ExecutionUnits(1, 1)), budgets="max").ok


def test_cost_model_comes_from_the_protocol_parameters(lock_script):
    tx, resolved = Spend(lock_script).build()
    base = run(tx, resolved)[0]
    dearer = {k: list(v) for k, v in COST_MODELS.items()}
    from runner.devnet.plutus.uplc_speed import parameter_names

    names = parameter_names()["PlutusV3"]
    position = names.index("cekApplyCost-exBudgetCPU")
    dearer["PlutusV3"][position] += 1000
    again = evaluate_scripts(tx, resolved, CLOCK, dearer, budgets="declared", max_ex_units=MAX_UNITS)[0]
    assert again.ok and again.memory == base.memory and again.cpu > base.cpu


def test_missing_cost_model_is_a_ledger_rejection(lock_script):
    tx, resolved = Spend(lock_script).build()
    with pytest.raises(LedgerRejection) as err:
        evaluate_scripts(
            tx,
            resolved,
            CLOCK,
            {"PlutusV2": COST_MODELS["PlutusV2"]},
            budgets="declared",
            max_ex_units=MAX_UNITS,
        )
    assert err.value.ogmios_code == 3115
    assert_ogmios_shape(err.value)


# --- V3 result and languages -----------------------------------------------------------


def test_v3_script_returning_unit_passes_without_datum():
    [result] = run(*always_tx(uplc_script("(program 1.1.0 (lam ctx (con unit ())))")))
    assert result.ok, result.error


def test_v3_script_returning_anything_but_unit_fails():
    [result] = run(*always_tx(uplc_script("(program 1.1.0 (lam ctx (con integer 1)))")))
    assert not result.ok and "instead of unit" in result.error


def test_v2_script_is_reported_unsupported():
    script = PlutusV2Script(flatten(parse("(program 1.0.0 (lam d (lam r (lam c (con unit ())))))")))
    [result] = run(*always_tx(script))
    assert not result.ok and result.error.startswith("unsupported")


# --- minting and withdrawing -----------------------------------------------------------


def test_minting_policy_sees_its_policy_amount_and_redeemer(mint_script):
    results = {r.index: r for r in run(*mint_tx(mint_script, 5, 5))}
    assert all(r.ok for r in results.values()), results
    assert [r.tag for r in results.values()] == ["mint", "mint"]


def test_minting_policy_rejects_a_different_amount(mint_script):
    results = run(*mint_tx(mint_script, 5, 4, form="map"))
    assert sorted(r.ok for r in results) == [False, True]
    assert "wrong amount" in next(r for r in results if not r.ok).logs


def test_rewarding_script_sees_its_credential_and_withdrawal(withdraw_script):
    [result] = run(*withdraw_tx(withdraw_script, 2_000_000, 2_000_000))
    assert result.ok, (result.error, result.logs)
    assert result.tag == "withdraw"


def test_rewarding_script_rejects_a_different_withdrawal(withdraw_script):
    [result] = run(*withdraw_tx(withdraw_script, 2_000_000, 1))
    assert not result.ok and "wrong withdrawal" in result.logs
