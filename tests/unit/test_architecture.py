"""The package's shape: imports point down the layers, no cycle, small modules, a light CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "synthgen"

#: Layers from the top down (../shared/DESIGN.md); a module may import its own layer and below.
LAYERS: list[set[str]] = [
    {"synthgen", "synthgen.__main__", "synthgen.cli", "synthgen.demo", "synthgen.testing"},
    {"synthgen.safe_export"},
    {"synthgen.io", "synthgen.ray_sampling", "synthgen.ray_evaluation"},
    {"synthgen.relational"},
    {"synthgen.generators"},
    {"synthgen.sampling"},
    {"synthgen.training"},
    {"synthgen.privacy"},
    {"synthgen.evaluation"},
    {"synthgen.transforms"},
    {"synthgen.schema", "synthgen.datasets"},
    {
        "synthgen.tabular_io",
        "synthgen.tabular_csv",
        "synthgen.csv_parts",
        "synthgen.parquet_parts",
        "synthgen.bundle",
        "synthgen.files",
        "synthgen.untrusted",
    },
    {"synthgen.exceptions", "synthgen.utils", "synthgen._version"},
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    best, depth = None, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            hit = module == name or (name != "synthgen" and module.startswith(name + "."))
            if hit and name.count(".") > depth:
                best, depth = i, name.count(".")
    if best is None:
        return 0 if module == "synthgen" else -1
    return best


def _is_module(name: str) -> bool:
    base = PACKAGE.parent.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """synthgen modules imported anywhere in ``path`` (functions too), except type-only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("synthgen"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.startswith("synthgen")
        ):
            for alias in node.names:  # ``from pkg import submodule`` imports the submodule
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub) else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in _graph() if _layer(m) < 0)
    assert not unplaced, f"modules outside every layer: {unplaced}"


def test_imports_point_down_the_layers():
    upward = [
        f"{mod} -> {dep}"
        for mod, deps in _graph().items()
        for dep in deps
        if mod != "synthgen" and _layer(dep) < _layer(mod)
    ]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_import_cycle():
    graph = _graph()
    # ``from synthgen.schema import X`` runs the package's __init__, which imports its own
    # modules: those edges count too, so a loop through a package is found.
    edges = {m: {d for d in deps if d in graph} for m, deps in graph.items()}
    edges["synthgen"] = set()  # the lazy top-level package imports nothing below
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if colour.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if colour.get(nxt) is None and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(edges):
        if colour.get(node) is None and (cycle := visit(node)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_modules_stay_small():
    long = {
        _module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, f"modules over 400 lines: {long}"


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    return set(out.stdout.split())


def test_help_and_the_copula_cli_do_not_import_torch(tmp_path):
    light = _imported_after("import synthgen, synthgen.cli")
    assert "torch" not in light
    assert "pandas" not in light  # `synthgen --help` stays quick (about 0.1 s)
    data = tmp_path / "t.csv"
    data.write_text("x,c\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(40)))
    code = (
        "from synthgen.cli import main\n"
        f"main(['fit', {str(data)!r}, '-g', 'copula', '-o', {str(tmp_path / 'm.sgm')!r},"
        " '--quiet'])"
    )
    assert "torch" not in _imported_after(code)
    assert "torch" not in _imported_after("import synthgen as sg; sg.list_generators()")
