"""apply renders the plan again only when an output its templates read has changed.

Rendering and checking a 1,000-allocation plan is ~0.3 s; apply used to do it before every
step.  The runner now keeps the rendered plan while the outputs its templates read (known
from the templates' text) are unchanged, and renders every time when that cannot be known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.commands.plans_engine import PlanRun
from runner.plan import PlanSource
from runner.testing.plans import write

READS_INIT = '{t0: "{{ steps.init.outputs.system_start_ms }}"}'


class Counting(PlanSource):
    renders = 0

    def render(self, outputs: Any = None) -> Any:
        type(self).renders += 1
        return super().render(outputs)


def run_of(path: Path) -> PlanRun:
    source = Counting.read(path)
    Counting.renders = 0
    return PlanRun(source=source, ctx=None, connection=None)  # render() needs neither


def test_the_source_names_the_steps_its_templates_read(tmp_path: Path):
    source = PlanSource.read(write(tmp_path, vars=READS_INIT, vesting='"{{ t0 + hours(1) }}"'))
    assert source.render()[0] is not None and source.step_reads == frozenset({"init"})
    plain = PlanSource.read(write(tmp_path))
    assert plain.render()[0] is not None and plain.step_reads == frozenset()


def test_a_step_chosen_at_render_time_means_any_step(tmp_path: Path):
    dynamic = '{which: init, t0: "{{ steps[which].outputs.system_start_ms }}"}'
    source = PlanSource.read(write(tmp_path, vars=dynamic, vesting='"{{ t0 + hours(1) }}"'))
    assert source.render()[0] is not None and source.step_reads is None


def test_rendered_again_only_when_a_read_output_changes(tmp_path: Path):
    run = run_of(write(tmp_path, vars=READS_INIT, vesting='"{{ t0 + hours(1) }}"'))
    first = run.render()
    assert run.render() is first and Counting.renders == 1
    run.outputs["deploy"] = {"policy_id": "00" * 28}  # not read by any template
    assert run.render() is first and Counting.renders == 1
    run.outputs["init"] = {"system_start_ms": 1_000}
    after = run.render()
    assert Counting.renders == 2 and after.schedule.allocations[0].vesting_ms == 3_601_000
    assert run.render() is after and Counting.renders == 2
    run.outputs["init"] = {"system_start_ms": 2_000}  # changed in place of the old value
    assert run.render().schedule.allocations[0].vesting_ms == 3_602_000 and Counting.renders == 3


def test_rendered_every_time_when_the_reads_are_not_known(tmp_path: Path):
    dynamic = '{which: init, t0: "{{ steps[which].outputs.system_start_ms }}"}'
    run = run_of(write(tmp_path, vars=dynamic, vesting='"{{ t0 + hours(1) }}"'))
    run.render()
    run.render()
    assert Counting.renders == 2
