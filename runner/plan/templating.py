"""The one place plans are templated: sandboxed Jinja, ``StrictUndefined``, per scalar.

Why per scalar and not the whole file: each string keeps its own line and column, a
template can never produce YAML structure (so a variable's value can never inject keys
or steps), and a string that is exactly one ``{{ expression }}`` yields the
expression's *native* value (``"{{ base * 2 }}"`` is the integer, not the text).  Only
strings written in the plan are templates: variables given with ``--var`` or
``--var-file``, files the plan names, and values read from the chain are inserted as
data and never rendered again.

Step outputs (``steps.<id>.outputs.<name>``) may be used only in later steps (and in the
schedule, by steps before the first step that needs the schedule).  Before a step has
run its outputs are :data:`KNOWN_AFTER_APPLY`: a value that absorbs arithmetic, so a
plan is validated and planned without crashing on what only apply can know.

Pure: the environment arrives as a mapping of the names the plan lists, nothing else.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, nodes
from jinja2.exceptions import SecurityError

from runner.plan.problems import Path, Problem
from runner.plan.sandbox import HINT, JINJA_FILTERS, JINJA_TESTS, PlanSandbox
from runner.plan.yaml_source import Marks

RESERVED = ("steps", "env", "vars", "network", "loop")
#: A problem not yet placed: (code, message, hint).
Issue = tuple[str, str, str]
_MARKER = "\x00known-after-apply\x00"
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}\s*$", re.DOTALL)


class KnownAfterApply:
    """A value only apply can know; arithmetic on it stays unknown."""

    _instance: KnownAfterApply | None = None
    texts = 0  # times it became text: a template that did so is deferred (never judged by content)

    def __new__(cls) -> KnownAfterApply:  # noqa: PYI034  # a singleton
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def _same(self, *_: Any) -> KnownAfterApply:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __floordiv__ = __rfloordiv__ = __truediv__ = __rtruediv__ = __mod__ = __rmod__ = _same
    __neg__ = __pos__ = __abs__ = _same

    def __str__(self) -> str:
        KnownAfterApply.texts += 1
        return _MARKER

    def __repr__(self) -> str:
        return "(known after apply)"

    def __reduce__(self) -> str:
        return "KNOWN_AFTER_APPLY"


KNOWN_AFTER_APPLY = KnownAfterApply()


def _ms(factor: int) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, KnownAfterApply):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {value!r}")
        return value * factor
    return convert


#: Helpers every template may call: durations in POSIX milliseconds, ADA in lovelace.
HELPERS: dict[str, Callable[[Any], Any]] = {
    "seconds": _ms(1_000), "minutes": _ms(60_000), "hours": _ms(3_600_000), "days": _ms(86_400_000),
    "ada": _ms(1_000_000),
}


@dataclass
class StepReads:
    """Which steps' outputs the templates of one render read: ``every`` when that is not
    known from the templates' text (``steps[name]``, a loop over ``steps``, ``{{ steps }}``)."""

    ids: set[str] = field(default_factory=set)
    every: bool = False

    def note(self, tree: nodes.Template) -> None:
        names = [n for n in tree.find_all(nodes.Name) if n.name == "steps"]
        if any(n.ctx != "load" for n in names):
            self.every = True
            return
        ids: list[str] = []
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            if not (isinstance(node, (nodes.Getattr, nodes.Getitem)) and isinstance(node.node, nodes.Name)
                    and node.node.name == "steps"):
                continue
            if isinstance(node, nodes.Getattr):
                ids.append(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                ids.append(node.arg.value)
        if len(ids) != len(names):
            self.every = True
        self.ids.update(ids)


@dataclass(frozen=True)
class StepScope:
    """Which step ids exist, in order, and what each one outputs (declared and known)."""

    ids: Sequence[str]
    declared: Mapping[str, frozenset[str]]
    known: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reads: StepReads = field(default_factory=StepReads)  # filled while rendering

    def view(self, visible: int) -> dict[str, Any]:
        """``steps`` as a template sees it: the first ``visible`` steps' outputs."""
        out: dict[str, Any] = {}
        for step_id in self.ids[:visible]:
            known = self.known.get(step_id, {})
            out[step_id] = {"outputs": {name: known.get(name, KNOWN_AFTER_APPLY)
                                        for name in sorted(self.declared.get(step_id, frozenset()) | set(known))}}
        return out


@dataclass
class Renderer:
    """Renders every template string of a tree; problems collected, paths of unknowns kept."""

    marks: Marks
    variables: Mapping[str, Any]
    environment: Mapping[str, str]
    network: str
    scope: StepScope
    problems: list[Problem] = field(default_factory=list)
    deferred: set[Path] = field(default_factory=set)
    broken: set[Path] = field(default_factory=set)
    templated: set[Path] = field(default_factory=set)  # values a template produced
    _env: PlanSandbox = field(init=False)
    _results: dict[tuple[str, int], tuple[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._env = PlanSandbox(HELPERS, undefined=StrictUndefined, autoescape=False)  # one budget per document
        self._views: dict[int, dict[str, Any]] = {}

    def forget(self) -> None:
        """Drop cached results (the variables changed)."""
        self._results.clear()
        self._views.clear()

    def render(self, value: Any, path: Path, visible: int) -> Any:
        """A copy of ``value`` with its template strings rendered (``visible`` steps' outputs)."""
        if isinstance(value, str):
            if not _is_template(value):
                return value
            self.templated.add(path)
            return self._render_string(value, path, visible)
        if isinstance(value, dict):
            return {k: self.render(v, (*path, k), visible) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, (*path, i), visible) for i, v in enumerate(value)]
        return value

    def _context(self, visible: int) -> dict[str, Any]:
        steps = self._views.get(visible)
        if steps is None:
            steps = self._views[visible] = self.scope.view(visible)
        return {**self.variables, "vars": dict(self.variables), "env": dict(self.environment),
                "network": self.network, "steps": steps}

    def _render_string(self, source: str, path: Path, visible: int) -> Any:
        """Render one template; results are cached per (source, visible steps): a pass is pure."""
        key = (source, visible)
        outcome = self._results.get(key)
        if outcome is None:
            outcome = self._results[key] = self._evaluate(source, visible)
        status, value = outcome
        if status == "ok":
            return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
        if status == "deferred":
            self.deferred.add(path)
            return KNOWN_AFTER_APPLY
        self.broken.add(path)
        self.problems.extend(self.marks.problem(path, *item) for item in value)
        return None

    def _evaluate(self, source: str, visible: int) -> tuple[str, Any]:
        """("ok", value) | ("deferred", None) | ("broken", [(code, message, hint), ...])."""
        compiled = self._compile(source)
        if isinstance(compiled, list):
            return "broken", compiled
        program, tree = compiled
        self.scope.reads.note(tree)
        found = self._check_names(tree, visible)
        if found:
            return "broken", found
        texts = KnownAfterApply.texts
        try:
            result = program(self._context(visible))
            if isinstance(result, Undefined):  # a lone {{ x.refused }}: say why, not "wrong type"
                result._fail_with_undefined_error()
            if callable(result):
                raise TypeError(f"the expression is a function ({getattr(result, '__name__', 'callable')}), "
                                "not a value: call it")
        except RecursionError:
            return "broken", [("template-error", "the template is nested too deeply to evaluate",
                               "split it: compute parts in variables: and combine them")]
        except (TemplateError, ArithmeticError, TypeError, ValueError, OverflowError) as exc:
            hint = HINT if isinstance(exc, SecurityError) else \
                "check the expression; variables are listed under variables: or given with --var"
            return "broken", [("template-error", f"the template failed: {_reason(exc)}", hint)]
        if result is KNOWN_AFTER_APPLY or KnownAfterApply.texts != texts:
            return "deferred", None
        return "ok", result

    def _compile(self, source: str) -> tuple[Any, nodes.Template] | list[Issue]:
        whole = _WHOLE_EXPRESSION.match(source)
        try:
            too_big = self._env.shape(source)
            if too_big is not None:
                return [("template-error", too_big, "split it: compute parts in variables: and combine them")]
            tree = self._env.parse(source)
            refused = [r for r in self._env.refusals(tree) if _known_to_jinja(r)]
            if refused:
                return [("template-error", f"{', '.join(refused)} is not available in plans", HINT)]
            program = self._env.program(source, whole.group("expr") if whole is not None else None)
        except (RecursionError, SyntaxError):  # the shape limits make these unlikely; never a traceback
            return [("template-error", "the template is nested too deeply to compile",
                     "split it: compute parts in variables: and combine them")]
        except TemplateError as exc:
            line = getattr(exc, "lineno", None) or 1
            where = f" (line {line} of the template)" if line > 1 else ""
            return [("template-syntax", f"template syntax error{where}: {_reason(exc)}",
                     "fix the {{ ... }} / {% ... %} expression")]
        return program, tree

    def _check_names(self, tree: nodes.Template, visible: int) -> list[Issue]:
        """Unknown variables, unlisted environment names, unknown or later steps: said plainly."""
        found: list[Issue] = []
        assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
        for name in sorted({n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"} - assigned):
            if name not in self.variables and name not in RESERVED and name not in HELPERS \
                    and name not in self._env.globals:
                found.append(("unknown-variable", f"'{name}' is not defined",
                              f"define it under variables:, or pass --var {name}=VALUE"))
        for root, keys in _chains(tree):
            found.extend(self._check_chain(root, keys, visible))
        return found

    def _check_chain(self, root: str, keys: list[str], visible: int) -> list[Issue]:
        if root == "env" and keys and keys[0] not in self.environment:
            return [("unknown-environment",
                                       f"the environment variable '{keys[0]}' is not available",
                                       "list it under environment: in the plan and set it before running")]
        if root != "steps" or not keys:
            return []
        step_id = keys[0]
        if step_id not in self.scope.ids:
            return [("unknown-step", f"no step has the id '{step_id}'",
                                       f"step ids are: {', '.join(self.scope.ids) or '(none)'}")]
        if step_id not in self.scope.ids[:visible]:
            return [("step-order", f"step '{step_id}' has not run yet at this point",
                                       "a value can use only the outputs of steps that run before it")]
        if len(keys) >= 2 and keys[1] != "outputs":
            return [("unknown-output", f"steps.{step_id}.{keys[1]} does not exist",
                                       f"write steps.{step_id}.outputs.NAME")]
        outputs = self.scope.declared.get(step_id, frozenset()) | set(self.scope.known.get(step_id, {}))
        if len(keys) >= 3 and keys[2] not in outputs:
            return [("unknown-output", f"step '{step_id}' has no output '{keys[2]}'",
                                       f"its outputs are: {', '.join(sorted(outputs)) or '(none)'}")]
        return []


def _known_to_jinja(refusal: str) -> bool:
    """A filter or test Jinja has (refused by the allowlist); an unknown name stays a syntax error."""
    kind, _, name = refusal.partition(" '")
    name = name.rstrip("'")
    if kind in ("the filter", "the test"):
        return name in (JINJA_FILTERS if kind == "the filter" else JINJA_TESTS)
    return True


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text).replace(_MARKER, "(known after apply)")


def _chains(tree: nodes.Template) -> list[tuple[str, list[str]]]:
    """``steps.a.outputs.b`` / ``steps['a']['outputs']`` chains rooted at ``steps`` or ``env``."""
    found: dict[tuple[str, tuple[str, ...]], None] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        keys: list[str] = []
        current: nodes.Node = node
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            if isinstance(current, nodes.Getattr):
                keys.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
                keys.append(current.arg.value)
            else:
                keys = []
                break
            current = current.node
        if keys and isinstance(current, nodes.Name) and current.name in ("steps", "env"):
            found[(current.name, tuple(reversed(keys)))] = None
    return [(root, list(chain)) for root, chain in found
            if not any(r == root and len(k) > len(chain) and k[:len(chain)] == chain for r, k in found)]
