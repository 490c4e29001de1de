"""runner.testing.ledger is a shipped module: its public names are importable and exported."""

import ast
import importlib
from pathlib import Path

import pytest

import runner.testing.ledger as ledger_kit


def test_exported_members():
    public = {name for name in dir(ledger_kit)
              if not name.startswith("_") and getattr(getattr(ledger_kit, name), "__module__", None)
              == ledger_kit.__name__}
    public |= {"ALWAYS_SUCCEEDS", "ALWAYS_FAILS", "UNITS"}
    assert set(ledger_kit.__all__) == public
    for name in ledger_kit.__all__:
        assert hasattr(ledger_kit, name), name


def test_the_module_needs_no_test_framework():
    source = ledger_kit.__file__
    assert source is not None
    text = Path(source).read_text()
    assert "import pytest" not in text and "from pytest" not in text


def test_ogmios_schemas_are_found():
    assert (ledger_kit._OGMIOS_DIR / "ogmios.json").is_file()


TESTING = Path(ledger_kit.__file__ or "").parent
KITS = sorted(p.stem for p in TESTING.glob("*.py") if p.stem != "__init__")


def test_the_helper_kits_are_shipped_modules():
    assert {"ledger", "attack_kit", "attack_tx", "attack_third_party", "contract_world", "phase2_kit",
            "schemas", "engine_world", "plans", "cli_guide"} <= set(KITS)


@pytest.mark.parametrize("kit", KITS)
def test_each_kit_declares_all_and_needs_no_test_framework(kit):
    module = importlib.import_module(f"runner.testing.{kit}")
    assert module.__all__, kit
    for name in module.__all__:
        assert hasattr(module, name), (kit, name)
    tree = ast.parse(Path(module.__file__ or "").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "pytest" not in imported, kit


def test_no_test_imports_conftest_or_another_test_module():
    tests = Path(__file__).resolve().parents[1]
    bad = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{path.relative_to(tests)}: {n}" for n in names
                    if n.split(".")[-1].startswith("test_") or n.split(".")[-1] == "conftest"
                    or n.split(".")[0] == "tests"]
    assert bad == []
