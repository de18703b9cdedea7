"""The package's layering, read from the source: no import cycles, and no layer importing one
above it. Every ``schema_kit`` import counts, at module level or inside a function, absolute
or relative, ``import x`` or ``from x import y``."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "schema_kit"
SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = SRC / PACKAGE

# Lowest first. A module may import its own layer and any below it, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "config", "connect"),
    ("provision",),
    ("inspect", "db"),
    ("workload",),
    ("checks",),
    ("commands", "bench"),
    ("cli", "pytest_plugin"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# What the top package's __init__ may import: it is imported before anything else.
TOP_MAY_IMPORT = frozenset({f"{PACKAGE}.errors", f"{PACKAGE}.config"})
MAX_TOP_LEVEL_MODULES = 8


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the schema_kit module it imports
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.module} -> {self.target} ({self.path.relative_to(SRC.parent)}:{self.line})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _known(name: str, modules: dict[str, Path]) -> str:
    """The module ``name`` is, or the nearest package above it that exists."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) or name


def _imports(
    module: str, path: Path, modules: dict[str, Path], source: str | None = None
) -> list[Import]:
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            # `from pkg import name` imports the module pkg.name where there is one.
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                for a in node.names
            ]
        for name in dict.fromkeys(names):
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                found.append(Import(module, _known(name, modules), path, node.lineno))
    return found


def _all_imports() -> list[Import]:
    modules = _modules()
    return [imp for m, p in modules.items() for imp in _imports(m, p, modules)]


def _layer(module: str) -> str:
    return module.split(".")[1]


def _cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself
    (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.module, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_scan_sees_every_kind_of_import() -> None:
    modules = dict.fromkeys(
        [PACKAGE, f"{PACKAGE}.errors", f"{PACKAGE}.db", f"{PACKAGE}.db.harness",
         f"{PACKAGE}.db.databases", f"{PACKAGE}.checks", f"{PACKAGE}.checks.plans"],
        ROOT,
    )
    source = (
        "import os\n"
        "from . import databases\n"  # relative, a module: schema_kit.db.databases
        "from ..errors import SchemaKitError\n"  # relative, a name: schema_kit.errors
        "from schema_kit.db import harness as h\n"
        "def f():\n"
        "    import schema_kit.checks.plans\n"  # inside a function
        "    from schema_kit.checks import run_checks\n"  # a name in a package
    )
    path = ROOT / "db" / "harness.py"
    found = _imports(f"{PACKAGE}.db.harness", path, modules, source)
    assert [(i.target, i.line) for i in found] == [
        (f"{PACKAGE}.db.databases", 2), (f"{PACKAGE}.errors", 3), (f"{PACKAGE}.db.harness", 4),
        (f"{PACKAGE}.checks.plans", 6), (f"{PACKAGE}.checks", 7),
    ]
    assert _cycles(found) == [[f"{PACKAGE}.db.harness"]]  # it imports itself
    a, b, c = "schema_kit.a", "schema_kit.b", "schema_kit.c"
    edges = [Import(a, b, path, 1), Import(b, c, path, 1), Import(c, a, path, 1),
             Import(c, f"{PACKAGE}.errors", path, 2)]
    assert _cycles(edges) == [[a, b, c]]


def test_every_module_has_a_layer() -> None:
    modules = _modules()
    assert {PACKAGE, f"{PACKAGE}.cli", f"{PACKAGE}.pytest_plugin"} <= modules.keys()
    # A new subpackage or top-level module must be given a place in LAYERS.
    unplaced = {_layer(m) for m in modules if m != PACKAGE} - RANK.keys()
    assert not unplaced, sorted(unplaced)


def test_no_import_cycles() -> None:
    edges = _all_imports()
    cycles = _cycles(edges)
    lines = []
    for component in cycles:
        members = set(component)
        lines.append("cycle among " + ", ".join(component) + ":")
        lines += [
            f"  {e}" for e in edges if e.module in members and e.target in members
        ]
    assert not cycles, "\n".join(lines)


def test_lower_layers_never_import_higher_ones() -> None:
    bad = []
    for e in _all_imports():
        if e.module == PACKAGE:
            if e.target not in TOP_MAY_IMPORT:
                bad.append(f"{e}  [the top package may import only errors/config]")
            continue
        if e.target == PACKAGE:
            continue  # the top package itself sits on the lowest layer (see above)
        source, target = _layer(e.module), _layer(e.target)
        if RANK[target] > RANK[source]:
            bad.append(f"{e}  [{source} is layer {RANK[source]}, {target} is layer "
                       f"{RANK[target]}]")
    assert not bad, "imports of a higher layer:\n" + "\n".join(bad)


def test_at_most_a_few_modules_at_the_top() -> None:
    top = sorted(p.name for p in ROOT.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
