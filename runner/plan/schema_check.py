"""JSON-schema validation of a RENDERED plan (or allocations/signatures file), all errors at once.

Each jsonschema error becomes a :class:`Problem` at the node's line and column, with a
message written for a person (``unknown key 'payr' (did you mean 'payer'?)`` rather than
``Additional properties are not allowed``).  Values only apply can know
(:data:`KNOWN_AFTER_APPLY`) and values whose template already failed are not checked
again: one mistake, one problem.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path as FsPath
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from runner.plan.problems import Path, Problem
from runner.plan.templating import KnownAfterApply
from runner.plan.yaml_source import Marks

SCHEMA_DIR = FsPath(__file__).resolve().parents[2] / "schemas"
SCHEMA_FILES = ("plan", "allocations", "signatures", "milestone")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """``schemas/<name>.schema.json`` as a dict."""
    with (SCHEMA_DIR / f"{name}.schema.json").open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def registry() -> Registry:
    resources = [(load_schema(n)["$id"], Resource.from_contents(load_schema(n))) for n in SCHEMA_FILES]
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), registry=registry())


def check(data: Any, marks: Marks, schema: str = "plan", *,
          skip: Iterable[Path] = (), prefix: Path = ()) -> list[Problem]:
    """Every schema problem of ``data``; paths under ``skip`` (unknown or broken) are not checked."""
    skipped = set(skip)
    clean = _without_unknowns(data)
    problems: list[Problem] = []
    for error in _leaves(validator(schema).iter_errors(clean)):
        path: Path = (*prefix, *error.absolute_path)
        if any(path[:len(s)] == s for s in skipped):
            continue
        problems.extend(_problems(error, path, marks))
    return problems


def _without_unknowns(value: Any) -> Any:
    if isinstance(value, KnownAfterApply):
        return None
    if isinstance(value, dict):
        return {k: _without_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_unknowns(v) for v in value]
    return value


def _leaves(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """Descend into anyOf/oneOf only when that explains the error better than the summary."""
    for error in errors:
        if error.validator == "anyOf" and error.context and not _is_choice(error):
            typed = [e for e in error.context if e.validator not in ("type", "const", "enum")]
            yield from (_leaves(typed) if typed else [error])
        else:
            yield error


def _is_choice(error: ValidationError) -> bool:
    """A oneOf/anyOf whose branches only say ``required: [x]``: "exactly one of these keys"."""
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    return bool(branches) and all(set(b) == {"required"} and len(b["required"]) == 1 for b in branches)


def _problems(error: ValidationError, path: Path, marks: Marks) -> list[Problem]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(schema.get("properties", {}))
        found = []
        for name in sorted(set(error.instance) - set(known)):
            close = difflib.get_close_matches(name, known, n=1)
            message = f"unknown key '{name}'" + (f" (did you mean '{close[0]}'?)" if close else "")
            hint = f"known keys here: {', '.join(known)}" if known else "no other keys are allowed here"
            found.append(marks.problem((*path, name), "unknown-key", message, hint, prefer_key=True))
        return found
    if error.validator == "required":
        match = _REQUIRED.match(error.message)
        name = match.group(1) if match else "?"
        return [marks.problem(path, "missing-key", f"missing key '{name}'",
                              _describe(schema.get("properties", {}).get(name, {})))]
    return [_problem(error, path, marks)]


_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _problem(error: ValidationError, path: Path, marks: Marks) -> Problem:
    kind = str(error.validator)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = _describe(error.parent.schema if error.parent is not None else schema) if kind == "pattern" else ""
    if kind in ("oneOf", "anyOf") and _is_choice(error):
        options = [b["required"][0] for b in error.validator_value]
        present = [o for o in options if isinstance(instance, dict) and o in instance]
        if not present:
            return marks.problem(path, "missing-choice", f"needs one of: {', '.join(options)}",
                                 "add exactly one of them")
        return marks.problem(path, "conflicting-choice", f"has more than one of: {', '.join(present)}",
                             "keep exactly one of them")
    if kind == "anyOf" and error.context:
        options = [_describe(e.schema) or _message(e) for e in error.context]
        return marks.problem(path, "schema-anyof", f"{_shown(instance)} is not allowed here",
                             "expected one of: " + " | ".join(dict.fromkeys(options)))
    if kind == "type":
        return marks.problem(path, "wrong-type", f"expected {_types(error.validator_value)}, got {_shown(instance)}",
                             _type_hint(error.validator_value, instance))
    return marks.problem(path, f"schema-{kind.lower()}", _message(error), hint or _describe(schema))


def _message(error: ValidationError) -> str:
    text = str(error.message)
    return text if len(text) <= 200 else text[:197] + "..."


def _describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    title, description = schema.get("title", ""), schema.get("description", "")
    return ": ".join(t for t in (title, description) if t)


def _types(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    words = {"object": "a mapping", "array": "a list", "integer": "an integer", "string": "a string",
             "boolean": "true/false", "null": "nothing"}
    return " or ".join(words.get(str(n), str(n)) for n in names)


def _shown(instance: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "the string", bool: "the boolean", int: "the integer",
            float: "the decimal number", type(None): "nothing"}.get(type(instance), type(instance).__name__)
    if isinstance(instance, (dict, list)) or instance is None:
        return kind
    shown = repr(instance)
    return f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _type_hint(expected: Any, instance: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    if "integer" in names and isinstance(instance, float):
        return "amounts and times are exact integers: write all the digits, no decimal point"
    if "string" in names and isinstance(instance, (int, float)) and not isinstance(instance, bool):
        return "quote the value so YAML keeps it as text (hex and ids are strings)"
    if "integer" in names and isinstance(instance, str):
        return "write the number without quotes; a template must produce a number ({{ expr }} alone in the string)"
    return ""
