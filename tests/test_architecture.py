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


# --- the import graph of runner: no circles, layers point one way (issue 9) ---------------

ROOT = PACKAGE.parent
#: the devnet's core: the ledger and what it is made of; it knows nothing of servers or users
DEVNET_CORE = ("runner.devnet.ledger", "runner.devnet.rules", "runner.devnet.plutus", "runner.devnet.storage")
CORE_MUST_NOT_IMPORT = ("runner.contract", "runner.engine", "runner.commands", "runner.cli", "runner.app",
                        "runner.rehearsal", "runner.devnet.servers", "runner.devnet.cli", "runner.devnet.home")


def module_names(package: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package under ``package`` (an
    ``__init__.py`` is its package's module)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth (a lazy import inside a function is still an
    edge), except those under ``if TYPE_CHECKING:`` (never run)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            for child in getattr(node, "orelse", []):
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _exports(tree: ast.AST) -> dict[str, str]:
    """A lazy front door's ``EXPORTS`` (public name -> defining module), if it has one."""
    for node in getattr(tree, "body", []):
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPORTS" for t in node.targets)
                and isinstance(node.value, ast.Dict)):
            return {ast.literal_eval(k): ast.literal_eval(v) for k, v in zip(node.value.keys, node.value.values)
                    if k is not None}
    return {}


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports: ``import a.b``, ``from a import b`` (b a
    module, or a name; a name a lazy front door exports is an edge to its defining module),
    relative imports included."""
    modules = module_names(package)
    trees = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in modules.items()}
    exports = {name: _exports(tree) for name, tree in trees.items()}

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, tree in trees.items():
        is_package = modules[name].name == "__init__.py"
        edges: set[str] = set()
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                edges.update(t for alias in node.names if (t := known(alias.name)))
                continue
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                target = (f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                          else exports.get(source, {}).get(alias.name) or known(source))
                if target:
                    edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: each strongly connected set of two or more modules, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE)


def test_runner_has_no_import_circles(graph):
    assert cycles(graph) == []


def test_the_cycle_checker_catches_a_planted_circle(tmp_path):
    pkg = tmp_path / "planted"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from planted.sub import b\n")                 # `from pkg import module`
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import x\n")  # relative, lazy
    (pkg / "c.py").write_text("import planted.a\nx = 1\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import planted.e\n")
    (pkg / "e.py").write_text("import planted.d\n")                          # type-only: no circle
    assert cycles(import_graph(pkg)) == [["planted.a", "planted.c", "planted.sub.b"]]


def test_a_lazy_front_door_is_followed_to_the_module_it_names(tmp_path):
    pkg = tmp_path / "door"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('EXPORTS = {"Thing": "door.inner"}\n')
    (pkg / "inner.py").write_text("from door.user import y\nThing = 1\n")
    (pkg / "user.py").write_text("from door import Thing\ny = 2\n")
    assert cycles(import_graph(pkg)) == [["door.inner", "door.user"]]


def _importing(graph: dict[str, set[str]], sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    def within(name: str, prefixes: tuple[str, ...]) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    return sorted(f"{m} -> {t}" for m, edges in graph.items() if within(m, sources)
                  for t in edges if within(t, targets))


def test_the_chain_clients_do_not_import_the_devnet(graph):
    assert _importing(graph, ("runner.chain",), ("runner.devnet", "runner.rehearsal")) == []


def test_the_devnet_core_imports_no_servers_contract_engine_or_commands(graph):
    assert _importing(graph, DEVNET_CORE, CORE_MUST_NOT_IMPORT) == []


def test_the_ledger_never_imports_its_storage(graph):
    """Persistence is a listener on the ledger: storage -> ledger, never ledger -> storage."""
    ledger_side = ("runner.devnet.ledger", "runner.devnet.rules", "runner.devnet.plutus")
    assert _importing(graph, ledger_side, ("runner.devnet.storage",)) == []
    assert "runner.devnet.ledger.ledger" in graph["runner.devnet.storage.store"]  # the checker sees edges


def test_the_layer_checks_can_fail():
    planted = {"runner.chain.ogmios": {"runner.devnet.servers.guard"},
               "runner.devnet.ledger.ledger": {"runner.devnet.storage.store", "runner.contract.tx_core"}}
    assert _importing(planted, ("runner.chain",), ("runner.devnet",)) == \
        ["runner.chain.ogmios -> runner.devnet.servers.guard"]
    assert _importing(planted, DEVNET_CORE, CORE_MUST_NOT_IMPORT) == \
        ["runner.devnet.ledger.ledger -> runner.contract.tx_core"]
