"""The pure layers never reach for the network, the clock of a server, or the environment.

DESIGN.md §3: `plan/`, `domain/` and `contract/` must not import `runner.chain`,
`runner.engine`, `runner.cli`, httpx or websockets, nor read os.environ.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "runner"
PURE_LAYERS = ("plan", "domain", "contract")
FORBIDDEN_IMPORTS = ("runner.chain", "runner.engine", "runner.cli", "httpx", "websockets")
#: The pure domain also keeps away from the data directory and the commands (issue 7).
EXTRA_FORBIDDEN = {"domain": ("runner.store", "runner.commands", "runner.config", "runner.plan")}


def pure_modules() -> list[Path]:
    return sorted(p for layer in PURE_LAYERS for p in (PACKAGE / layer).rglob("*.py"))


def imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name) and node.value.id == "os"):
            return True
    return False


def test_there_are_pure_modules_to_check():
    assert (PACKAGE / "contract" / "__init__.py").exists()


@pytest.mark.parametrize("module", pure_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_module_does_no_io_imports(module: Path):
    tree = ast.parse(module.read_text(), filename=str(module))
    forbidden = FORBIDDEN_IMPORTS + EXTRA_FORBIDDEN.get(module.relative_to(PACKAGE).parts[0], ())
    bad = [name for name in imported_names(tree)
           if any(name == f or name.startswith(f + ".") for f in forbidden)]
    assert bad == [], f"{module} imports {bad}: move the I/O to runner/chain or runner/engine"
    assert not reads_environment(tree), f"{module} reads the environment: take it from Config"


def test_the_checker_catches_a_forbidden_import():
    tree = ast.parse("import httpx\nfrom runner.chain.ogmios import X\nimport os\nos.environ['A']")
    assert imported_names(tree) == ["httpx", "runner.chain.ogmios", "os"]
    assert reads_environment(tree)
