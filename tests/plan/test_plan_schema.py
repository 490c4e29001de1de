"""The schemas are complete and self-consistent; every example in them validates; the step
registry matches the schema; semantic checks catch what a schema cannot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.plan import STEP_KINDS, Inputs, check_plan
from runner.plan.schema_check import SCHEMA_FILES, load_schema, registry

ROOT = Path(__file__).resolve().parents[2]


def examples(name: str) -> Iterator[tuple[str, str, Any]]:
    def walk(node: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
        if isinstance(node, dict):
            for example in node.get("examples", []):
                yield name, pointer, example
            for key, value in node.items():
                if key != "examples":
                    yield from walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{pointer}/{i}")
    yield from walk(load_schema(name), "")


ALL_EXAMPLES = [e for n in SCHEMA_FILES for e in examples(n)]


def test_every_schema_is_a_valid_2020_12_schema_with_id_title_and_description():
    for name in SCHEMA_FILES:
        schema = load_schema(name)
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/{name}.schema.json") and schema["title"] and schema["description"]


def test_there_are_examples_everywhere_that_matters():
    assert len(ALL_EXAMPLES) >= 40 and {n for n, _, _ in ALL_EXAMPLES} == set(SCHEMA_FILES)


@pytest.mark.parametrize("name, pointer, example", ALL_EXAMPLES, ids=lambda v: v if isinstance(v, str) else "")
def test_every_example_validates_against_its_own_subschema(name: str, pointer: str, example: Any):
    base = load_schema(name)["$id"]
    subschema = {"$ref": f"{base}#{pointer}"}
    errors = list(Draft202012Validator(subschema, registry=registry()).iter_errors(example))
    assert errors == [], [e.message for e in errors]


def test_the_step_registry_matches_the_schema():
    defs = load_schema("plan")["$defs"]
    kinds = [branch["required"][0] for branch in defs["step"]["oneOf"]]
    assert sorted(kinds) == sorted(STEP_KINDS)
    for kind in kinds:
        assert sorted(defs[kind]["x-outputs"]) == sorted(STEP_KINDS[kind].outputs), kind


def test_the_schema_refuses_a_step_with_two_actions_or_none(tmp_path: Path):
    plan = (ROOT / "schemas" / "plan.schema.json")
    example = json.loads(plan.read_text())["examples"][0]
    example["steps"][0] = {"id": "x", "init": {}, "deploy": {"payer": "payer"}}
    example["steps"][1] = {"id": "y"}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(example, indent=1))
    _, found = check_plan(path)
    assert sorted(p.code for p in found) == ["conflicting-choice", "missing-choice"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    example = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())["examples"][0]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(example, indent=1))
    return path


def edit(path: Path, change: Any) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))
    return path


def codes(path: Path, inputs: Inputs | None = None) -> list[str]:
    return sorted(p.code for p in check_plan(path, inputs)[1])


SEMANTIC_CASES = {
    "quorum above the oracles": (lambda d: d["schedule"].update(quorum=2), ["quorum-too-large"]),
    "unknown owner key": (lambda d: d["schedule"].update(owner="nobody"), ["unknown-key-name"]),
    "duplicate step id": (lambda d: d["steps"][1].update(id="init"), ["duplicate-step-id"]),
    "devnet steps on preprod": (lambda d: d.update(network="preprod"),
                                ["devnet-only"] * 6),
    "unknown milestone in a step": (lambda d: d["steps"][6].update(release={"milestone": "m9"}), ["unknown-milestone"]),
    "duplicate allocation": (lambda d: d["schedule"]["allocations"].append(dict(d["schedule"]["allocations"][0])),
                             ["duplicate-allocation"]),
    "vesting after expiry": (lambda d: d["schedule"]["allocations"][0].update(vesting=86400000), ["vesting-after-expiry"]),
    "signing with a non-oracle": (lambda d: d["steps"][3]["sign"].update(oracles=["ben"]), ["not-an-oracle"]),
    "missing signatures file": (lambda d: d["steps"][4]["commit"].update(signatures="nope.json"), ["missing-file"]),
    "mainnet address on devnet": (lambda d: d["schedule"]["allocations"][0].update(
        beneficiary="addr1vz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"), ["wrong-network"]),
    "payer that cannot sign": (lambda d: d["keys"].update(payer={"vkey_hash": "ab" * 28}), ["not-a-signing-key"] * 3),
    "token name over 32 bytes": (lambda d: d["schedule"]["token"].update(name="é" * 17), ["token-name-too-long"]),
    "missing key file": (lambda d: d["keys"].update(owner={"skey_file": "owner.skey"}), ["missing-file"]),
}


@pytest.mark.parametrize("case", sorted(SEMANTIC_CASES))
def test_semantic_mistakes_are_found_with_their_code(tiny: Path, case: str):
    change, expected = SEMANTIC_CASES[case]
    assert codes(tiny) == []
    assert codes(edit(tiny, change)) == expected


def test_key_files_need_not_exist_when_told(tiny: Path):
    edit(tiny, lambda d: d["keys"].update(owner={"skey_file": "owner.skey"}))
    assert codes(tiny, Inputs(check_key_files=False)) == []


def test_an_allocations_file_in_the_guides_format_is_read_as_data(tiny: Path):
    (tiny.parent / "a.json").write_text(json.dumps([
        {"beneficiary_address": "ben", "token_amount": 5, "milestone_identifier": "m1", "vesting_timestamp": 3600},
        {"beneficiary_address": "ben", "token_amount": 7, "milestone_identifier": "m2", "vesting_time_ms": 7200000},
    ]))
    edit(tiny, lambda d: (d["schedule"].pop("allocations"), d["schedule"].update(allocations_file="a.json")))
    plan, found = check_plan(tiny)
    assert found == [] and plan is not None
    assert [(a.amount, a.vesting_ms) for a in plan.schedule.allocations] == [(5, 3_600_000), (7, 7_200_000)]
    assert plan.schedule.allocations[1].location.startswith(f"{tiny.parent / 'a.json'}:1:")


def test_problems_in_an_allocations_file_point_into_that_file(tiny: Path):
    (tiny.parent / "a.json").write_text('[\n {"beneficiary_address": "ben", "token_amount": 1e6,\n'
                                        '  "milestone_identifier": "m1", "vesting_timestamp": 1.5}\n]\n')
    edit(tiny, lambda d: (d["schedule"].pop("allocations"), d["schedule"].update(allocations_file="a.json")))
    [problem] = check_plan(tiny)[1]
    assert (problem.file, problem.line, problem.code) == (str(tiny.parent / "a.json"), 2, "yaml-trap")
