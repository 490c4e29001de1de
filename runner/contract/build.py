"""Rebuild the committed CIP-57 blueprint ``plutus.json`` from the OpShin sources in ``onchain/``.

``python -m runner.contract.build``          rewrites plutus.json
``python -m runner.contract.build --check``  exits 1 when the committed file differs from a fresh build

One compilation path only: ``opshin.compiler.compile`` + ``pluthon.compile`` at -O3 (or, for
hand-written UPLC, ``onchain/<name>.uplc`` or the text printed by
``onchain/<name>_uplc.py``, the ``uplc`` parser) and a UPLC program of version :data:`runner.contract.blueprint.PROGRAM_VERSION`.  Parameters are
applied by :func:`runner.contract.blueprint.apply_parameters`, the same function the
runner uses per schedule, so the hashes pinned in the tests are the hashes on chain.
(``opshin build`` writes program version 1.1.0, OpShin's Python ``apply_parameters``
1.0.0: mixing the two changes every hash.)

The batch validator gets two build-time parameters, the bytes around the 28-byte
parameter in the forwarder's hashed serialisation (see ``onchain/batch_release_uplc.py``):
that is how it knows its schedule's forwarder address without a circular parameter.
This module needs the source checkout (``onchain/`` is not packaged).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import functools
import hashlib
import importlib.util
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opshin
import pluthon
import uplc.ast
from opshin import compiler
from opshin.builder import to_plutus_schema
from opshin.compiler_config import DEFAULT_CONFIG, OPT_O3_CONFIG

from runner.contract.blueprint import (
    BLUEPRINT_PATH,
    PROGRAM_VERSION,
    apply_parameters,
    forwarder_hash_frame,
    script_hash_hex,
)
from runner.store.atomic import write_text_atomic

REPO_ROOT = Path(__file__).resolve().parents[2]
ONCHAIN_DIR = REPO_ROOT / "onchain"
PINNED_OPSHIN = "0.28.0"
COMPILER_CONFIG = DEFAULT_CONFIG.update(OPT_O3_CONFIG)
RECURSION_LIMIT = 20000


@dataclass(frozen=True)
class ScriptSpec:
    """How one OpShin source becomes one blueprint validator."""

    title: str
    purposes: tuple[str, ...]
    datum: str | None  # class name in schedule_types, or None
    redeemer: str | None  # class name or "Union:A,B"; None = any Data
    parameters: tuple[tuple[str, str], ...]  # (title, type name)
    description: str


SPECS = (
    ScriptSpec(
        "certificate_policy",
        ("mint",),
        None,
        "CertificateDatum",
        (("seed", "TxOutRef"), ("oracles", "bytes"), ("quorum", "int")),
        "Mints a milestone certificate on a quorum of distinct oracle signatures; "
        "its own script address is where certificates are locked forever.",
    ),
    ScriptSpec(
        "batch_release",
        ("withdraw", "publish"),
        None,
        "Union:Release,Reclaim",
        (
            ("cert_policy", "bytes"),
            ("owner", "bytes"),
            ("expiry", "int"),
            ("token_policy", "bytes"),
            ("token_name", "bytes"),
        ),
        "Zero-withdrawal batch validator: checks every pot input of the transaction in one "
        "pass, each entry paid by the next output (release), or the owner's reclaim after expiry.",
    ),
    ScriptSpec(
        "spend_forwarder",
        ("spend",),
        "PotDatum",
        "Forward",
        (("batch_hash", "bytes"),),
        "Pot address: spendable only when the schedule's batch validator "
        "runs in the same transaction.",
    ),
)


def _check_environment() -> None:
    if opshin.__version__ != PINNED_OPSHIN:
        raise SystemExit(
            f"opshin {opshin.__version__} is installed but the blueprint is pinned to "
            f"{PINNED_OPSHIN}: run `pip install opshin=={PINNED_OPSHIN}`"
        )
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


def parse_uplc_source(path: Path) -> uplc.ast.Program:
    """Parse a hand-written ``onchain/<name>.uplc`` (lines starting with ``--`` are comments)."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
    program = uplc.parse("\n".join(lines), filename=str(path))
    if program.version != PROGRAM_VERSION:
        raise SystemExit(f"{path}: program version must be {PROGRAM_VERSION}, not {program.version}")
    return program


def _generated_uplc(path: Path) -> uplc.ast.Program:
    """Parse the text printed by a hand-written generator ``onchain/<name>_uplc.py``."""
    spec = importlib.util.spec_from_file_location(f"_milestones_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    traced = not getattr(COMPILER_CONFIG, "remove_trace", True)  # a diagnostic build keeps traces
    program = uplc.parse(module.program(traced=traced), filename=str(path))
    if program.version != PROGRAM_VERSION:
        raise SystemExit(f"{path}: program version must be {PROGRAM_VERSION}, not {program.version}")
    return program


def compile_source(name: str) -> uplc.ast.Program:
    """Compile ``onchain/<name>.uplc`` (hand-written, parsed as is) or ``onchain/<name>.py``
    (OpShin) into an unparameterised UPLC program."""
    handwritten = ONCHAIN_DIR / f"{name}.uplc"
    if handwritten.exists():
        return parse_uplc_source(handwritten)
    generator = ONCHAIN_DIR / f"{name}_uplc.py"
    if generator.exists():
        return _generated_uplc(generator)
    path = ONCHAIN_DIR / f"{name}.py"
    source = path.read_text()
    code = compiler.compile(
        compiler.parse(source, filename=str(path)),
        filename=str(path),
        validator_function_name="validator",
        config=COMPILER_CONFIG,
    )
    program = pluthon.compile(code, config=COMPILER_CONFIG)
    return uplc.ast.Program(PROGRAM_VERSION, program.term)


def _onchain_types() -> types.ModuleType:
    """Import onchain/schedule_types.py as plain Python (OpShin sources are valid Python)."""
    spec = importlib.util.spec_from_file_location(
        "_milestones_onchain_types", ONCHAIN_DIR / "schedule_types.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _schema(type_name: str, module: types.ModuleType) -> dict[str, Any]:
    if type_name == "bytes":
        return {"dataType": "bytes"}
    if type_name == "int":
        return {"dataType": "integer"}
    if type_name == "Forward":
        return {"title": "Forward", "dataType": "constructor", "index": 0, "fields": []}
    if type_name.startswith("Union:"):
        names = type_name.removeprefix("Union:").split(",")
        return {"anyOf": [to_plutus_schema(getattr(module, n)) for n in names]}
    return dict(to_plutus_schema(getattr(module, type_name)))


def _validator_entry(spec: ScriptSpec, compiled_hex: str, module: types.ModuleType) -> dict[str, Any]:
    purpose: Any = spec.purposes[0] if len(spec.purposes) == 1 else {"oneOf": list(spec.purposes)}
    entry: dict[str, Any] = {"title": spec.title, "description": spec.description}
    if spec.datum is not None:
        entry["datum"] = {
            "title": spec.datum,
            "purpose": "spend",
            "schema": _schema(spec.datum, module),
        }
    if spec.redeemer is not None:
        entry["redeemer"] = {
            "title": "redeemer",
            "purpose": purpose,
            "schema": _schema(spec.redeemer, module),
        }
    entry["parameters"] = [
        {"title": title, "schema": _schema(type_name, module)} for title, type_name in spec.parameters
    ]
    entry["compiledCode"] = compiled_hex
    entry["hash"] = script_hash_hex(bytes.fromhex(compiled_hex))
    return entry


def _sources_digest() -> str:
    digest = hashlib.sha256(opshin.__version__.encode())
    for path in sorted([*ONCHAIN_DIR.glob("*.py"), *ONCHAIN_DIR.glob("*.uplc")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_blueprint() -> dict[str, Any]:
    """Compile the three scripts and return the blueprint as a JSON-ready dict.

    Memoised per content of onchain/*.py (compiling takes ~10 s)."""
    return copy.deepcopy(_build_blueprint(_sources_digest()))


@functools.lru_cache(maxsize=2)
def _build_blueprint(_digest: str) -> dict[str, Any]:
    _check_environment()
    module = _onchain_types()
    forwarder = uplc.flatten(compile_source("spend_forwarder"))
    prefix, suffix = forwarder_hash_frame(forwarder)
    batch = apply_parameters(uplc.flatten(compile_source("batch_release")), prefix, suffix)
    certificate = uplc.flatten(compile_source("certificate_policy"))
    compiled = {
        "certificate_policy": certificate.hex(),
        "batch_release": batch.hex(),
        "spend_forwarder": forwarder.hex(),
    }
    return {
        "preamble": {
            "title": "milestones/schedule",
            "description": "Milestone-gated token distribution: one set of parameterised "
            "Plutus V3 scripts per schedule (see onchain/README.md).",
            "version": "1.0.0",
            "plutusVersion": "v3",
            "compiler": {"name": "opshin", "version": opshin.__version__},
            "license": "Apache-2.0",
        },
        "validators": [_validator_entry(s, compiled[s.title], module) for s in SPECS],
    }


def render(blueprint: dict[str, Any]) -> str:
    return json.dumps(blueprint, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.contract.build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if plutus.json is stale")
    parser.add_argument("--output", type=Path, default=BLUEPRINT_PATH)
    args = parser.parse_args(argv)
    fresh = render(build_blueprint())
    if args.check:
        committed = args.output.read_text() if args.output.exists() else ""
        if committed == fresh:
            print(f"{args.output}: up to date")
            return 0
        diff = difflib.unified_diff(
            committed.splitlines(), fresh.splitlines(), "committed", "fresh", lineterm="", n=1
        )
        print("\n".join(list(diff)[:40]))
        print(f"{args.output} is stale: run `python -m runner.contract.build` and commit it")
        return 1
    write_text_atomic(args.output, fresh)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
