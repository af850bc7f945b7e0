"""The package's structure stays as designed: layers with one direction, no cycles, small modules.

Data flows one way through the layers, each importing only those below it:

    errors, core (declarations: priors, run tables, laws, the catalogues, specs)   [models/ sits here too]
    -> inference (model, NUTS, plan, fit, refit, Fit, diagnostics)
    -> posterior (predict, decide, curves, mixtures)
    -> validation (LOO, compare, backtest, cross-validation, sensitivity)
    -> averaging (stacking)
    -> plots, report
    -> cli

This file reads every module's imports from its syntax tree (nothing is imported) and checks:
no module imports a higher layer; there is no import cycle; no module imports another package
module inside a function, except the CLI (which loads the library lazily so that ``--help`` and the
refusal of bad input stay fast) and the three documented convenience delegations of ``Fit`` to the
posterior layer (see ``bayeslaw.inference.result``); no module imports the package face
``bayeslaw/__init__.py`` but the CLI; every module has a docstring and at most 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src" / "bayeslaw"
MAX_LINES = 400

LAYERS = {"errors": 0, "core": 0, "models": 0, "inference": 1, "posterior": 2, "validation": 3, "averaging": 4,
          "plots": 5, "report": 5, "cli": 6, "__main__": 6}  # python -m bayeslaw: the CLI
# The only function-level imports of package modules outside the CLI: Fit's documented thin delegations
# (fit.predict(...) reads better than bayeslaw.predict(fit, ...) in the everyday case; both are one call).
LAZY_DELEGATIONS = {("bayeslaw.inference.result", "Fit.predict"),
                    ("bayeslaw.inference.result", "Fit.optimal_allocation"),
                    ("bayeslaw.inference.result", "Fit.compute_for_loss")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["bayeslaw", *parts])] = path
    for path in sorted((REPO / "models").glob("*.py")):
        name = "bayeslaw.models" if path.stem == "__init__" else f"bayeslaw.models.{path.stem}"
        out[name] = path
    return out


MODULES = _modules()


def _package(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def _resolve(name: str, path: Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The package modules an import statement names (a `from X import y` names X.y when that is a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "bayeslaw" or a.name.startswith("bayeslaw.")]
    if node.level:
        base = _package(name, path).split(".")
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not (target == "bayeslaw" or target.startswith("bayeslaw.")):
        return []
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in MODULES else target)
    return out


def _imports(name: str, path: Path) -> list[tuple[str, str | None]]:
    """(imported package module, enclosing function or None for module level) for every import."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, str | None]] = []

    def visit(node: ast.AST, where: list[str], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                scope = ".".join(where) if in_function else None
                found.extend((m, scope) for m in _resolve(name, path, child))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, [*where, child.name], True)
            elif isinstance(child, ast.ClassDef):
                visit(child, [*where, child.name], in_function)
            else:
                visit(child, where, in_function)

    visit(tree, [], False)
    return found


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def layer(name: str) -> float:
    if name == "bayeslaw":
        return 5.5  # the face: above everything but the CLI
    return LAYERS[name.split(".")[1]]


def test_every_module_is_in_a_layer():
    unknown = [n for n in MODULES if n != "bayeslaw" and n.split(".")[1] not in LAYERS and n.split(".")[1] != "data"]
    assert not unknown, f"modules outside the layers {sorted(LAYERS)}: {unknown}"


def test_no_module_imports_a_higher_layer():
    bad = [f"{src} -> {dst}" for src, deps in IMPORTS.items() for dst, scope in deps
           if scope is None and src != "bayeslaw" and layer(dst) > layer(src)]
    assert not bad, "imports that run up the layers:\n" + "\n".join(bad)


def test_no_function_level_imports_between_package_modules():
    bad = [f"{src} ({scope}) -> {dst}" for src, deps in IMPORTS.items() for dst, scope in deps
           if scope is not None and not src.startswith("bayeslaw.cli") and (src, scope) not in LAZY_DELEGATIONS]
    assert not bad, "package modules imported inside functions (hiding a cycle?):\n" + "\n".join(bad)
    for src, scope in LAZY_DELEGATIONS:  # the allowance stays as narrow as documented
        deps = [d for d, s in IMPORTS[src] if s == scope]
        assert deps and all(d.startswith("bayeslaw.posterior.") for d in deps), (src, scope, deps)


def test_only_the_cli_imports_the_face():
    bad = [src for src, deps in IMPORTS.items() for dst, _ in deps
           if dst == "bayeslaw" and not src.startswith("bayeslaw.cli")]
    assert not bad, f"modules importing the package face bayeslaw/__init__.py: {bad}"


def test_no_import_cycles():
    graph = {src: {dst for dst, scope in deps if dst in MODULES and dst != src
                   and (src, scope) not in LAZY_DELEGATIONS and dst != "bayeslaw"}
             for src, deps in IMPORTS.items() if src != "bayeslaw"}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node)


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.is_relative_to(SRC)))
def test_module_is_small_and_says_what_it_owns(name):
    path = MODULES[name]
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(REPO)} has {lines} lines (at most {MAX_LINES}): split it"
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and len(doc.split()) >= 5, f"{path.relative_to(REPO)} needs a docstring that says what it owns"
