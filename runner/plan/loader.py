"""Read a plan file and everything it names -> a checked :class:`Plan`, or every problem.

Order: bytes -> YAML (positions kept, traps refused) -> variables (plan < --var-file <
--var) -> templates rendered per scalar -> JSON schema on the rendered document ->
allocations file (data, never rendered) -> cross-checks -> typed Plan.  Each stage
collects problems; a later stage runs only on what the earlier ones could read.

Pure apart from reading the files the plan names: the environment arrives as a mapping
and only the names the plan lists under ``environment:`` are taken from it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from runner.errors import UserInputError
from runner.plan.build import AllocationEntry, build_plan
from runner.plan.model import STEP_KINDS, Plan
from runner.plan.problems import PlanInvalid, Problem
from runner.plan.schema_check import check
from runner.plan.semantics import Semantics
from runner.plan.templating import KnownAfterApply, Renderer, StepScope
from runner.plan.yaml_source import MAX_BYTES, Document, Marks, load_yaml


@dataclass(frozen=True)
class Inputs:
    """What the caller adds to a plan: ``--var`` values, ``--var-file`` paths, the environment."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    var_files: Sequence[str] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    check_key_files: bool = True


def parse_var(text: str) -> tuple[str, Any]:
    """``--var k=v``: an integer if v is one (no leading zeros), true/false, else the string."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise UserInputError(f"--var expects NAME=VALUE, got {text!r}", location="--var",
                             hint="for example --var quorum=2 or --var token_name=GRANT")
    if value in ("true", "false"):
        return name, value == "true"
    if value.lstrip("-").isdigit() and (value.lstrip("-") == "0" or not value.lstrip("-").startswith("0")):
        return name, int(value)
    return name, value


def read_bytes(path: FsPath, label: str) -> tuple[bytes | None, list[Problem]]:
    """A regular file's bytes, read no further than the size limit: /dev/zero or a FIFO cannot hang validate."""
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, [Problem(label, 1, 1, "$", "unreadable-file", f"{label} is not a regular file",
                                      "name a plain file")]
            raw = handle.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            return None, [Problem(label, 1, 1, "$", "file-too-large", f"the file is larger than {MAX_BYTES:,} bytes",
                                  "split the allocations into an allocations_file, or trim the plan")]
        return raw, []
    except FileNotFoundError:
        return None, [Problem(label, 1, 1, "$", "missing-file", f"{label} does not exist", "check the path")]
    except (IsADirectoryError, PermissionError, OSError) as exc:
        return None, [Problem(label, 1, 1, "$", "unreadable-file", f"cannot read {label}: {exc.strerror}",
                              "check the path and its permissions")]


def load_document(path: FsPath, label: str) -> Document:
    raw, problems = read_bytes(path, label)
    if raw is None:
        return Document(None, Marks(label), problems)
    return load_yaml(raw, label)


@dataclass
class PlanSource:
    """A plan read and parsed once; :meth:`render` can be called again with step outputs."""

    file: str
    base_dir: FsPath
    document: Document
    inputs: Inputs
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # YAML problems that do not stop the checks
    #: after :meth:`render`: the steps whose outputs its templates read (None: any of them)
    step_reads: frozenset[str] | None = None

    @classmethod
    def read(cls, path: str | FsPath, inputs: Inputs | None = None) -> PlanSource:
        target = FsPath(path)
        source = cls(str(path), target.parent, load_document(target, str(path)), inputs or Inputs())
        document = source.document
        (source.problems if document.fatal else source.notes).extend(document.problems)
        data = document.data
        if not source.problems and not isinstance(data, dict):
            source.problems.append(source.document.marks.problem(
                (), "not-a-mapping", "a plan is a mapping (version:, network:, schedule:, steps:)",
                "start from plans/rehearsal.yaml"))
        return source

    def render(self, outputs: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[Plan | None, list[Problem]]:
        """The typed plan with what is known so far (``outputs``: step id -> its outputs)."""
        if self.problems:
            return None, list(self.problems)
        data: dict[str, Any] = self.document.data
        marks = self.document.marks
        problems: list[Problem] = list(self.notes)
        scope = _scope(data, outputs or {})
        self.step_reads = None
        variables = self._variables(data, scope, problems)
        renderer = Renderer(marks, variables, self._environment(data), str(data.get("network")), scope)
        rendered = {key: self._render_top(renderer, key, value, data) for key, value in data.items()}
        problems.extend(renderer.problems)
        skip = renderer.deferred | renderer.broken | self.document.flagged
        problems.extend(check(rendered, marks, skip=skip))
        allocations = self._allocations(rendered, problems)
        if problems:
            return None, problems
        problems.extend(Semantics(rendered, marks, self.base_dir, allocations, self.inputs.check_key_files,
                                  frozenset(renderer.templated)).run())
        if problems:
            return None, problems
        plan = build_plan(rendered, marks, str(self.base_dir), allocations, variables)
        self.step_reads = None if scope.reads.every else frozenset(scope.reads.ids)
        return plan, []

    def _environment(self, data: Mapping[str, Any]) -> dict[str, str]:
        listed = data.get("environment")
        names = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
        return {name: self.inputs.environ[name] for name in names if name in self.inputs.environ}

    def _variables(self, data: Mapping[str, Any], scope: StepScope, problems: list[Problem]) -> dict[str, Any]:
        """Plan variables < --var-file < --var; plan variables may use earlier ones, env, and
        the outputs of the steps before the first step that needs the schedule."""
        overrides: dict[str, Any] = {}
        for file in self.inputs.var_files:
            overrides.update(_var_file(FsPath(file), problems))
        overrides.update(self.inputs.variables)
        declared = data.get("variables")
        variables: dict[str, Any] = {}
        if isinstance(declared, dict):
            renderer = Renderer(self.document.marks, variables, self._environment(data), str(data.get("network")),
                                scope)
            visible = _first_schedule_use(data)
            for name, value in declared.items():
                renderer.forget()
                variables[name] = overrides[name] if name in overrides else \
                    renderer.render(value, ("variables", name), visible)
            problems.extend(renderer.problems)
        variables.update(overrides)
        return variables

    def _render_top(self, renderer: Renderer, key: str, value: Any, data: Mapping[str, Any]) -> Any:
        if key in ("variables", "environment"):
            return value
        if key == "steps" and isinstance(value, list):
            return [renderer.render(step, ("steps", i), i) for i, step in enumerate(value)]
        if key == "schedule":
            return renderer.render(value, ("schedule",), _first_schedule_use(data))
        return renderer.render(value, (key,), 0)

    def _allocations(self, rendered: Mapping[str, Any], problems: list[Problem]) -> list[AllocationEntry]:
        schedule = rendered.get("schedule")
        if not isinstance(schedule, dict):
            return []
        inline = schedule.get("allocations")
        if isinstance(inline, list):
            marks = self.document.marks
            return [(("schedule", "allocations", i), a, marks) for i, a in enumerate(inline) if isinstance(a, dict)]
        relative = schedule.get("allocations_file")
        if not isinstance(relative, str) or isinstance(relative, KnownAfterApply):
            return []
        if not (self.base_dir / relative).resolve().is_relative_to(self.base_dir.resolve()):
            problems.append(self.document.marks.problem(
                ("schedule", "allocations_file"), "file-outside-plan-folder",
                f"allocations file '{relative}' is outside the plan's folder",
                "put the file next to the plan or in a folder under it; absolute paths and '..' are refused"))
            return []
        document = load_document(self.base_dir / relative, str(self.base_dir / relative))
        problems.extend(document.problems)
        if document.problems:  # the file is data: any YAML problem stops its checks
            if document.problems[0].code == "missing-file":
                problems[-1] = self.document.marks.problem(
                    ("schedule", "allocations_file"), "missing-file",
                    f"allocations file '{relative}' does not exist", "paths are relative to the plan file")
            return []
        found = check(document.data, document.marks, "allocations", quote=False)
        problems.extend(found)
        if found:
            return []
        return [((i,), _from_guide(a), document.marks) for i, a in enumerate(document.data)]


def _from_guide(item: Mapping[str, Any]) -> dict[str, Any]:
    """The guide's allocation (vesting in seconds, or vesting_time_ms) in the plan's own shape."""
    vesting = item["vesting_time_ms"] if "vesting_time_ms" in item else item["vesting_timestamp"] * 1000
    return {"beneficiary": item["beneficiary_address"], "amount": item["token_amount"],
            "milestone": item["milestone_identifier"], "vesting": vesting}


def _var_file(path: FsPath, problems: list[Problem]) -> dict[str, Any]:
    document = load_document(path, str(path))
    problems.extend(document.problems)
    if document.problems:
        return {}
    if not isinstance(document.data, dict):
        problems.append(document.marks.problem((), "not-a-mapping", "a --var-file holds name: value pairs",
                                               "write one 'name: value' per line"))
        return {}
    return dict(document.data)


def _scope(data: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]) -> StepScope:
    steps = data.get("steps")
    ids: list[str] = []
    declared: dict[str, frozenset[str]] = {}
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            ids.append(step["id"])
            kind = next((k for k in step if k in STEP_KINDS), None)
            declared[step["id"]] = STEP_KINDS[kind].outputs if kind else frozenset()
    return StepScope(tuple(ids), declared, outputs)


def _first_schedule_use(data: Mapping[str, Any]) -> int:
    """The schedule may use outputs of the steps before the first step that needs it."""
    steps = data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, dict) and any(k in STEP_KINDS and STEP_KINDS[k].uses_schedule for k in step):
            return i
    return len(steps) if isinstance(steps, list) else 0


def check_plan(path: str | FsPath, inputs: Inputs | None = None,
               outputs: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[Plan | None, list[Problem]]:
    """The plan and no problems, or None and every problem found."""
    return PlanSource.read(path, inputs).render(outputs)


def load_plan(path: str | FsPath, inputs: Inputs | None = None,
              outputs: Mapping[str, Mapping[str, Any]] | None = None) -> Plan:
    """The checked plan; raises :class:`PlanInvalid` (exit 2) with every problem."""
    plan, problems = check_plan(path, inputs, outputs)
    if plan is None:
        raise PlanInvalid(problems)
    return plan
