"""YAML plans, pure: load (positions kept), render (sandboxed Jinja), validate (all errors), type.

Public surface::

    from runner.plan import Inputs, PlanSource, check_plan, load_plan, Plan, Problem, PlanInvalid

``check_plan(path, Inputs(...))`` returns ``(plan, [])`` or ``(None, problems)``;
``load_plan`` raises :class:`PlanInvalid` (exit 2).  ``PlanSource.read(path).render(outputs)``
renders again with the outputs of the steps that ran (the engine's loop).  No network, no
clock; the environment only as a mapping, and only the names a plan lists.
"""

from runner.plan.loader import Inputs, PlanSource, check_plan, load_plan, parse_var
from runner.plan.model import STEP_KINDS, Allocation, Key, Plan, Schedule, Step
from runner.plan.problems import PlanInvalid, Problem
from runner.plan.templating import KNOWN_AFTER_APPLY, KnownAfterApply

__all__ = [
           "KNOWN_AFTER_APPLY",
           "STEP_KINDS",
           "Allocation",
           "Inputs",
           "Key",
           "KnownAfterApply",
           "Plan",
           "PlanInvalid",
           "PlanSource",
           "Problem",
           "Schedule",
           "Step",
           "check_plan",
           "load_plan",
           "parse_var",
]
