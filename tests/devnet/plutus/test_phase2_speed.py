"""The speed patches of ``uplc_speed`` change how fast scripts run, never what they cost.

Every scenario is evaluated with the patches (the default) and with ``uplc``'s own code
paths (``uplc_speed.disabled()``); results must be identical to the unit, including the
spent amounts reported when a budget runs out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pycardano import ExecutionUnits, PlutusV3Script, Transaction
from uplc.ast import PlutusData, data_from_cbor

from runner.devnet.plutus import uplc_speed
from runner.devnet.plutus.phase2 import evaluate_scripts
from runner.errors import LedgerRejection
from runner.testing.ledger import assert_ogmios_shape
from runner.testing.phase2_kit import (
    CLOCK,
    COST_MODELS,
    MAX_UNITS,
    Spend,
    always_tx,
    compile_script,
    mint_tx,
    withdraw_tx,
)


@pytest.fixture(scope="module")
def scripts(opshin_cache_dir: Path) -> dict[str, PlutusV3Script]:
    cache = opshin_cache_dir
    return {
        name: compile_script(name, cache) for name in ("lock_validator", "mint_policy", "withdraw_script")
    }


def both_ways(tx: Transaction, resolved: dict, budgets: str = "declared") -> tuple[list, list]:
    def run() -> list:
        return evaluate_scripts(tx, resolved, CLOCK, COST_MODELS, budgets=budgets, max_ex_units=MAX_UNITS)

    patched = run()
    with uplc_speed.disabled(memo=False):  # uplc's machine with the memo
        assert patched == run()
    with uplc_speed.disabled(machine=False):  # the prepared machine without the memo
        assert not uplc_speed.installed()
        assert patched == run()
    with uplc_speed.disabled():
        assert not uplc_speed.installed()
        plain = run()
    assert uplc_speed.installed()
    return patched, plain


SPENDS = {
    "honest": {},
    "many inputs": {"fillers": 40},
    "hashed datum": {"datum_mode": "hash"},
    "wrong secret": {"secret": 1},
    "no signer": {"signer": None},
    "budget short": {"units": ExecutionUnits(100_000, 20_000_000)},
    "budget below startup": {"units": ExecutionUnits(1, 1)},
}


@pytest.mark.parametrize("case", SPENDS, ids=list(SPENDS))
def test_spend_budgets_identical_with_and_without_patches(scripts, case):
    patched, plain = both_ways(*Spend(scripts["lock_validator"], **SPENDS[case]).build())
    assert patched == plain
    assert patched[0].cpu > 0


def test_mint_and_withdraw_budgets_identical(scripts):
    for tx, resolved in (
        mint_tx(scripts["mint_policy"], 5, 5),
        mint_tx(scripts["mint_policy"], 5, 3),
        withdraw_tx(scripts["withdraw_script"], 2_000_000, 2_000_000),
        withdraw_tx(scripts["withdraw_script"], 2_000_000, 9),
    ):
        patched, plain = both_ways(tx, resolved)
        assert patched == plain
        assert {r.ok for r in patched} != set() and all(r.cpu > 0 for r in patched)


def test_memoised_size_equals_the_library_size_on_nested_data():
    raw = bytes.fromhex("d8799f9f0102ff a2410a01420b0b02 d87a80 1a00989680 ff".replace(" ", ""))
    data = data_from_cbor(raw)
    with uplc_speed.disabled():
        expected = data.ex_mem()
    assert PlutusData.ex_mem is not uplc_speed._ORIGINAL.get(PlutusData)
    assert data.ex_mem() == expected
    assert data.ex_mem() == expected  # the stored value
    assert data.__dict__.get("_milestones_ex_mem") == expected
    assert data == data_from_cbor(raw)  # the memo is not part of equality


def test_install_is_idempotent_and_disabled_restores():
    memoised = PlutusData.ex_mem
    original = memoised.__wrapped__
    uplc_speed.install()
    assert PlutusData.ex_mem is memoised
    with uplc_speed.disabled():
        assert PlutusData.ex_mem is original
    assert uplc_speed.installed() and PlutusData.ex_mem.__wrapped__ is original


def test_cached_program_survives_evaluations_with_the_patches_off(scripts):
    tx, resolved = Spend(scripts["lock_validator"]).build()
    program = uplc_speed.load_program(bytes(scripts["lock_validator"]))
    before = program.dumps()
    both_ways(tx, resolved)
    assert uplc_speed.load_program(bytes(scripts["lock_validator"])) is program
    assert program.dumps() == before


def test_undecodable_script_is_a_malformed_script_rejection():
    tx, resolved = always_tx(PlutusV3Script(bytes.fromhex("4401020304")))
    with pytest.raises(LedgerRejection) as err:
        evaluate_scripts(tx, resolved, CLOCK, COST_MODELS, budgets="max", max_ex_units=MAX_UNITS)
    assert err.value.ogmios_code == 3116
    assert_ogmios_shape(err.value)
