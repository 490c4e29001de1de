"""Review: the plan sandbox's resource limits (runner/plan/templating.py PlanSandbox).

MAX_REPEAT / MAX_EXPONENT are meant to keep `validate` from exhausting memory or CPU on a
hostile plan; these probes try the ways around them that need no `*` or `**` on the big
operand."""

from __future__ import annotations

from pathlib import Path

from runner.plan import check_plan
from runner.testing.plans import write


def codes(tmp_path: Path, amount: str) -> tuple[list[str], object]:
    plan, found = check_plan(write(tmp_path, amount=amount), None)
    return [p.code for p in found], (plan.schedule.allocations[0].amount if plan else None)


# ------------------------------------------------------------------ twins that hold


def test_repetition_over_the_limit_is_refused(tmp_path: Path):
    found, _ = codes(tmp_path, "\"{{ ('x' * 1000000) | length }}\"")
    assert "template-error" in found


def test_an_exponent_over_the_limit_is_refused(tmp_path: Path):
    found, _ = codes(tmp_path, '"{{ 9 ** 5000 }}"')
    assert "template-error" in found


def test_dunder_access_stays_undefined(tmp_path: Path):
    found, amount = codes(tmp_path, '"{{ ().__class__.__mro__ }}"')
    assert found and amount is None


def test_a_small_padding_is_fine(tmp_path: Path):
    found, amount = codes(tmp_path, "\"{{ 'x'.ljust(100) | length }}\"")
    assert found == [] and amount == 100


# ------------------------------------------------------------------ findings


def test_padding_methods_respect_the_repeat_limit(tmp_path: Path):
    found, amount = codes(tmp_path, "\"{{ 'x'.ljust(1000000) | length }}\"")
    assert "template-error" in found, (found, amount)


def test_chained_powers_are_bounded(tmp_path: Path):
    found, amount = codes(tmp_path, '"{{ ((9 ** 512) ** 512).bit_length() }}"')
    assert "template-error" in found, (found, amount)


def test_lipsum_is_not_available(tmp_path: Path):
    found, amount = codes(tmp_path, '"{{ lipsum(3000, false, 20, 100) | length }}"')
    assert found, amount


# ------------------------------------------------------------------ the known-after-apply marker


def test_an_unknown_step_output_is_deferred_not_a_crash(tmp_path: Path):
    from runner.plan import Inputs

    path = write(tmp_path, vars="{n: 5}", amount='"{{ n * 20 }}"')
    plan, found = check_plan(path, Inputs())
    assert found == [] and plan is not None and plan.schedule.allocations[0].amount == 100


def test_a_value_spelling_the_marker_is_a_problem_not_a_crash(tmp_path: Path):
    import json

    from runner.plan import Inputs

    var_file = tmp_path / "vars.json"
    var_file.write_text(json.dumps({"amount": "\x00known-after-apply\x00"}))
    path = write(tmp_path, amount='"{{ amount }}"')
    plan, found = check_plan(path, Inputs(var_files=(str(var_file),)))
    assert plan is None and found
