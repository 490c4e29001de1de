"""Plans are templated per scalar in a sandbox; unknowns stay "known after apply"; data is never a template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.plan import KNOWN_AFTER_APPLY, Inputs, PlanSource, check_plan, load_plan, parse_var
from runner.plan.problems import PlanInvalid
from runner.testing.plans import BASE, write  # noqa: F401

HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"

def problems(path: Path, inputs: Inputs | None = None) -> list[tuple[str, int, str]]:
    _, found = check_plan(path, inputs)
    return [(p.code, p.line, p.path) for p in found]


def test_a_whole_expression_yields_its_native_value(tmp_path: Path):
    path = write(tmp_path, vars="{base: 50}", amount='"{{ base * 2 }}"', expiry='"{{ days(1) }}"')
    plan = load_plan(path)
    assert plan.schedule.allocations[0].amount == 100 and plan.schedule.expiry_ms == 86_400_000


def test_mixed_text_renders_to_a_string(tmp_path: Path):
    plan = load_plan(write(tmp_path, vars="{round: 3}", name='"G{{ round }}"'))
    assert plan.schedule.token.name == "G3"


def test_step_outputs_are_known_after_apply_until_given(tmp_path: Path):
    path = write(tmp_path, vars='{t0: "{{ steps.init.outputs.system_start_ms }}"}',
                 vesting='"{{ t0 + hours(1) }}"', advance='"{{ t0 + hours(2) }}"')
    plan = load_plan(path)
    assert plan.schedule.allocations[0].vesting_ms is KNOWN_AFTER_APPLY and plan.unknowns
    after = PlanSource.read(path).render({"init": {"system_start_ms": 1_000}})[0]
    assert after is not None and not after.unknowns
    assert after.schedule.allocations[0].vesting_ms == 3_601_000 and after.steps[2].options.to_ms == 7_201_000


def test_a_step_cannot_use_a_later_or_unknown_step(tmp_path: Path):
    path = write(tmp_path, advance='"{{ steps.nope.outputs.x + steps.later.outputs.tip_slot }}"')
    assert sorted(problems(path)) == [("step-order", 24, "$.steps[2]['advance-time'].to"),
                                      ("unknown-step", 24, "$.steps[2]['advance-time'].to")]


def test_an_unknown_output_name_lists_the_real_ones(tmp_path: Path):
    _, found = check_plan(write(tmp_path, advance='"{{ steps.init.outputs.nope }}"'))
    [problem] = found
    assert problem.code == "unknown-output" and "system_start_ms" in problem.hint


def test_strict_undefined_and_syntax_errors_have_locations(tmp_path: Path):
    assert problems(write(tmp_path, amount='"{{ missing }}"')) == [("unknown-variable", 17, "$.schedule.allocations[0].amount")]
    assert problems(write(tmp_path, amount='"{{ 1 + }}"')) == [("template-syntax", 17, "$.schedule.allocations[0].amount")]
    assert problems(write(tmp_path, amount='"{{ 1 // 0 }}"')) == [("template-error", 17, "$.schedule.allocations[0].amount")]


def test_the_sandbox_refuses_python_internals(tmp_path: Path):
    path = write(tmp_path, name='"{{ \'\'.__class__.__mro__ }}"')
    assert problems(path) == [("template-error", 11, "$.schedule.token.name")]


def test_the_environment_is_visible_only_by_listed_name(tmp_path: Path):
    inputs = Inputs(environ={"ALLOWED": "G7", "SECRET": "x"})
    assert load_plan(write(tmp_path, name='"{{ env.ALLOWED }}"'), inputs).schedule.token.name == "G7"
    assert problems(write(tmp_path, name='"{{ env.SECRET }}"'), inputs) == [
        ("unknown-environment", 11, "$.schedule.token.name")]


def test_cli_variables_and_var_files_are_data_never_templates(tmp_path: Path):
    (tmp_path / "vars.yaml").write_text("token: '{{ 7 * 6 }}'\n")
    path = write(tmp_path, vars="{token: X}", name='"{{ token }}"')
    assert load_plan(path, Inputs(var_files=[str(tmp_path / "vars.yaml")])).schedule.token.name == "{{ 7 * 6 }}"
    assert load_plan(path, Inputs(variables={"token": "{{ 1 }}"})).schedule.token.name == "{{ 1 }}"


def test_var_precedence_is_plan_then_var_file_then_var(tmp_path: Path):
    (tmp_path / "v.json").write_text(json.dumps({"n": "FILE"}))
    path = write(tmp_path, vars="{n: PLAN}", name='"{{ n }}"')
    assert load_plan(path).schedule.token.name == "PLAN"
    assert load_plan(path, Inputs(var_files=[str(tmp_path / "v.json")])).schedule.token.name == "FILE"
    assert load_plan(path, Inputs({"n": "FLAG"}, [str(tmp_path / "v.json")])).schedule.token.name == "FLAG"


@pytest.mark.parametrize("text, value", [("a=1", 1), ("a=007", "007"), ("a=0x1F", "0x1F"), ("a=1e6", "1e6"),
                                         ("a=true", True), ("a=x=y", "x=y"), ("a=-5", -5), ("a=", "")])
def test_var_flags_keep_exact_integers_and_everything_else_as_text(text: str, value: object):
    assert parse_var(text) == ("a", value)


def test_a_template_error_is_one_problem_not_two(tmp_path: Path):
    assert len(problems(write(tmp_path, amount='"{{ nope }}"'))) == 1


def test_load_plan_raises_every_problem_sorted(tmp_path: Path):
    path = write(tmp_path, amount='"{{ nope }}"', name='"{{ 1 + }}"', expiry="0x10")
    with pytest.raises(PlanInvalid) as info:
        load_plan(path)
    assert [p.line for p in info.value.problems] == [11, 15, 17] and info.value.exit_code == 2


def test_values_from_the_chain_are_data_never_rendered(tmp_path: Path):
    path = write(tmp_path, name='"{{ steps.init.outputs.network }}"')
    plan, problems = PlanSource.read(path).render({"init": {"network": "{{ 7 * 6 }}"}})
    assert problems == [] and plan is not None and plan.schedule.token.name == "{{ 7 * 6 }}"
