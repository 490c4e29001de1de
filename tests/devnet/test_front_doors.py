"""The devnet's front doors: each package's ``__all__`` is small, resolves, and is what
outside code imports (issue 9, "a small public front door")."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOORS = sorted(".".join(p.relative_to(ROOT).parent.parts) for p in (ROOT / "runner" / "devnet").rglob("__init__.py")) \
    + ["runner.rehearsal"]


def test_every_part_of_the_devnet_has_a_front_door():
    assert {"runner.devnet", "runner.devnet.ledger", "runner.devnet.rules", "runner.devnet.plutus",
            "runner.devnet.storage", "runner.devnet.servers", "runner.devnet.servers.ogmios",
            "runner.devnet.servers.kupo"} <= set(DOORS)


@pytest.mark.parametrize("door", DOORS)
def test_every_name_in_all_resolves_to_what_its_module_defines(door):
    package = importlib.import_module(door)
    assert package.__all__, door
    assert sorted(package.__all__) == sorted(package.EXPORTS), door
    for name in package.__all__:
        module = importlib.import_module(package.EXPORTS[name])
        expected = module if package.EXPORTS[name].rpartition(".")[2] == name else getattr(module, name)
        assert getattr(package, name) is expected, (door, name)
    assert set(package.__all__) <= set(dir(package))


@pytest.mark.parametrize("door", DOORS)
def test_type_checkers_see_the_same_names(door):
    """The ``if TYPE_CHECKING:`` imports (what mypy reads) name exactly ``__all__``."""
    source = Path(importlib.import_module(door).__file__ or "").read_text()
    typed = {alias.asname or alias.name for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
             for imp in node.body if isinstance(imp, ast.ImportFrom) for alias in imp.names}
    assert typed == set(importlib.import_module(door).__all__)


def test_an_unknown_name_is_an_attribute_error():
    import runner.devnet

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        runner.devnet.Nope  # noqa: B018


def test_the_front_door_loads_nothing_heavy():
    """``milestones --help`` imports the devnet's command line: that must not load the ledger."""
    code = ("import sys, runner.devnet, runner.devnet.cli, runner.devnet.storage; "
            "print(sorted(m for m in ('pycardano', 'uplc', 'runner.devnet.ledger.ledger') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def _devnet_imports_outside() -> list[tuple[str, str, str]]:
    """(file, module, name) of every ``from runner.devnet... import name`` in runner/ outside
    the devnet, and in bench/."""
    files = [p for p in (ROOT / "runner").rglob("*.py") if "devnet" not in p.relative_to(ROOT).parts[:2]]
    files += list((ROOT / "bench").glob("*.py"))
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("runner.devnet"):
                found += [(str(path.relative_to(ROOT)), node.module or "", a.name) for a in node.names]
    return found


def deep_imports(found: list[tuple[str, str, str]]) -> list[str]:
    """Imports past a front door that exports the name: they should use the front door."""
    bad = []
    for path, module, name in found:
        parts = module.split(".")
        for depth in range(2, len(parts)):
            door = importlib.import_module(".".join(parts[:depth]))
            if name in getattr(door, "EXPORTS", {}):
                bad.append(f"{path}: from {module} import {name} (use {door.__name__})")
                break
    return bad


def test_outside_code_imports_the_devnet_through_its_front_doors():
    found = _devnet_imports_outside()
    assert len(found) > 10  # the engine, the commands, the test kits and the benchmarks use it
    assert deep_imports(found) == []


def test_the_front_door_check_can_fail():
    assert deep_imports([("x.py", "runner.devnet.ledger.ledger", "Ledger")]) == \
        ["x.py: from runner.devnet.ledger.ledger import Ledger (use runner.devnet)"]
    assert deep_imports([("x.py", "runner.devnet.ledger.faucet", "sign")]) == []  # not exported: fine


@pytest.mark.parametrize("door", DOORS)
def test_no_exported_name_is_also_a_submodule(door):
    """``from package import control`` gives the submodule once anything imported it, so an
    exported function may not share its name with a module of the package."""
    package = importlib.import_module(door)
    folder = Path(package.__file__ or "").parent
    submodules = {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if p.is_dir()}
    clashes = [n for n in package.__all__ if n in submodules and package.EXPORTS[n] != f"{door}.{n}"]
    assert clashes == []
