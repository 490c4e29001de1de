"""The plan loader keeps positions and refuses YAML 1.1 traps instead of converting them."""

from __future__ import annotations

import pytest

from runner.plan.yaml_source import MAX_DEPTH, load_yaml


def load(text: str | bytes):
    return load_yaml(text.encode() if isinstance(text, str) else text, "p.yaml")


def test_every_node_keeps_its_line_and_column():
    doc = load("a:\n  b: [1, 22]\n  c: x\n")
    assert doc.data == {"a": {"b": [1, 22], "c": "x"}}
    assert doc.marks.value[("a", "b", 1)] == (2, 10)
    assert doc.marks.value[("a", "c")] == (3, 6)
    assert doc.marks.key[("a", "c")] == (3, 3)


@pytest.mark.parametrize("text", ["0x1F", "0X1f", "no", "Yes", "ON", "off", "y", "0755", "0o17", "1e6", "2E+3",
                                  "1:30", "190:20:30", "1_000", "0b101", ".inf", ".NaN", "True", "NULL", "=", ".5"])
def test_a_yaml_11_trap_is_refused_with_a_hint_not_converted(text: str):
    doc = load(f"value: {text}\n")
    [problem] = doc.problems
    assert problem.code == "yaml-trap" and (problem.line, problem.column) == (1, 8)
    assert problem.path == "$.value" and problem.hint
    assert doc.data == {"value": text}  # kept as written, never a number or a boolean


@pytest.mark.parametrize("text, value", [("'0x1F'", "0x1F"), ('"no"', "no"), ("'0755'", "0755"), ("!!str 1e6", "1e6"),
                                         ("12", 12), ("-3", -3), ("0", 0), ("1.5", 1.5), ("true", True),
                                         ("~", None), ("2025-01-01", "2025-01-01"),
                                         ("123456789012345678901234567890", 123456789012345678901234567890)])
def test_quoted_and_plain_values_resolve_exactly(text: str, value: object):
    doc = load(f"value: {text}\n")
    assert doc.problems == []
    assert doc.data == {"value": value} and type(doc.data["value"]) is type(value)


def test_keys_stay_strings_as_written():
    assert load("on: 1\n1: 2\nno: 3\n").data == {"on": 1, "1": 2, "no": 3}


def test_a_duplicate_key_is_refused_and_the_first_value_kept():
    doc = load("a: 1\nb: 2\na: 3\n")
    [problem] = doc.problems
    assert (problem.code, problem.line, problem.column) == ("duplicate-key", 3, 1)
    assert "first at line 1" in problem.message
    assert doc.data == {"a": 1, "b": 2}


def test_deep_nesting_is_refused_without_recursing():
    doc = load("[" * 10_000 + "]" * 10_000)
    [problem] = doc.problems
    assert problem.code == "too-deep" and doc.data is None
    assert load("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)).problems == []


def test_alias_bombs_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 9)]
    doc = load("\n".join(lines))
    assert [p.code for p in doc.problems] == ["too-large"] and doc.data is None


def test_bad_utf8_points_at_the_byte():
    [problem] = load(b"a: 1\nb: caf\xe9\n").problems
    assert (problem.code, problem.line, problem.column) == ("bad-utf8", 2, 7)


def test_syntax_errors_and_second_documents_have_positions():
    [problem] = load("a: [1, 2\nb: 3\n").problems
    assert problem.code == "yaml-syntax" and problem.line == 2
    [problem] = load("a: 1\n---\nb: 2\n").problems
    assert (problem.code, problem.line) == ("multiple-documents", 2)


def test_merge_keys_and_unknown_tags_are_refused():
    codes = sorted(p.code for p in load("base: &b {x: 1}\nc:\n  <<: *b\nd: !!binary aGk=\n").problems)
    assert codes == ["yaml-merge-key", "yaml-tag"]


def test_huge_files_are_refused_before_parsing(monkeypatch):
    monkeypatch.setattr("runner.plan.yaml_source.MAX_BYTES", 100)
    [problem] = load("a: " + "x" * 200).problems
    assert problem.code == "file-too-large"
