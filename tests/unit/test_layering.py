"""The pure packages stay pure: `policies` and `recognition` never import the server's world.

Why: the rules that decide money and the face pipeline must be testable without Flask or a
database, and swappable. Two checks, because each alone can be fooled: a static scan of every
import statement (catches imports in functions that a plain import would not run), and a real
import in a fresh interpreter (catches anything pulled in indirectly, e.g. through a dependency).
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PURE = ("policies", "recognition")
FORBIDDEN = ("server", "flask", "sqlalchemy")


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def _sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", PURE)
def test_no_module_of_a_pure_package_imports_server_flask_or_sqlalchemy(package):
    files = _sources(package)
    assert files, f"{package}/ has no Python files"
    offenders = {str(f.relative_to(REPO)): sorted(_imported_roots(f) & set(FORBIDDEN)) for f in files}
    assert {f: mods for f, mods in offenders.items() if mods} == {}


def test_the_scan_sees_imports_hidden_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from server.models import x\n    import flask.json\n"
                      "    importlib.import_module('sqlalchemy.orm')\n", encoding="utf-8")
    assert _imported_roots(sample) >= {"server", "flask", "sqlalchemy"}


def test_importing_every_pure_module_loads_no_server_flask_or_sqlalchemy():
    modules = [".".join(f.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
               for package in PURE for f in _sources(package)]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# --- server/: layers, cycles and private names ------------------------------------------------
#
# Why: every issue adds code to server/, and an import that goes the wrong way (a service that
# reaches for a handler, two modules that need each other) is cheap to write and dear to undo.
# The graph counts imports inside functions too: a cycle hidden in a function body is still one.

#: Layers that deliver (requests, pages, commands, pushes, schedules) and the ones they call.
DELIVERY = ("server.api", "server.web", "server.cli", "server.sockets", "server.scheduler")
CORE = ("server.services", "server.models", "server.exports", "server.adapters", "server.database",
        "server.clock", "server.permissions")


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _server_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((REPO / "server").rglob("*.py")) if "migrations" not in p.parts}


def _imports(path: Path, name: str, modules: Iterable[str]) -> list[tuple[str, str]]:
    """(imported module, imported name) for every import in the file, wherever it stands."""
    known = set(modules)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((full, "") if full in known else (base, alias.name))
    return found


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, _ in _imports(path, name, modules):
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
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
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_nothing_in_server_imports_in_a_circle():
    assert _cycles(_graph(_server_modules())) == []


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function_body(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("import b\n")
    b.write_text("def f():\n    from a import x\n")
    modules = {"a": a, "b": b}
    graph = {name: {t for t, _ in _imports(path, name, modules) if t in modules and t != name} for name, path in modules.items()}
    assert _cycles(graph) == [["a", "b"]]


def test_no_module_imports_another_modules_private_name():
    modules = _server_modules()
    private = [f"{name} imports {target}.{what}" for name, path in modules.items()
               for target, what in _imports(path, name, modules)
               if what.startswith("_") and not what.startswith("__") and target.startswith("server")]
    assert private == []


@pytest.mark.parametrize("layer", CORE)
def test_the_core_never_imports_the_layers_that_deliver_it(layer):
    modules = _server_modules()
    wrong = sorted(f"{name} -> {target}" for name, path in modules.items() if name == layer or name.startswith(layer + ".")
                   for target, _ in _imports(path, name, modules)
                   if any(target == d or target.startswith(d + ".") for d in DELIVERY))
    assert wrong == []


def _endpoint_handlers() -> Iterator[tuple[str, ast.FunctionDef]]:
    for path in sorted((REPO / "server" / "api").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and getattr(d.func, "id", "") == "endpoint" for d in node.decorator_list):
                yield f"{path.name}:{node.name}", node


QUERY_CALLS = {"select", "get", "execute", "scalar", "scalars", "query"}


def test_api_handlers_hold_no_queries():
    handlers = list(_endpoint_handlers())
    assert len(handlers) > 40, "the scan found too few handlers to mean anything"
    queries = sorted({name for name, fn in handlers for node in ast.walk(fn)
                      if isinstance(node, ast.Call) and (
                          getattr(node.func, "id", None) == "select"
                          or (isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_CALLS
                              and "session" in ast.unparse(node.func.value)))})
    assert queries == []


# --- tests/: worlds from one builder, no test module leaning on another -----------------------
#
# Why: a test module that imports another's fixtures or helpers ties the two together (moving a
# test breaks another folder; ruff's F401 fix once deleted imported fixtures still named as
# arguments). Worlds and shared helpers come from tests/factories.py (and tests/served.py,
# tests/browser.py); fixtures reach a test through the conftest.py files, never by import.

def _imports_of_another_test(path: Path, package: str) -> list[str]:
    """Every import in the file, wherever it stands, of a test module, a conftest, or `*`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets = [(base, alias.name) for alias in node.names]
        else:
            continue
        for module, name in targets:
            parts = module.split(".")
            if parts[0] == "tests":
                parts += [name] if name else []
            elif len(parts) > 1:
                parts = []
            if name == "*" or any(p == "conftest" or p.startswith("test_") for p in parts):
                found.append(f"{module} import {name}" if name else module)
    return found


def test_no_test_module_imports_another_test_module_or_a_conftest(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text("import json\nfrom tests.factories import PASSWORD\nfrom hypothesis import strategies\n"
                      "from tests.api import test_scoping\nfrom tests.browser import *\n"
                      "def f():\n    from tests.db.test_models import world\n    import tests.web.conftest\n"
                      "    from .conftest import login\n", encoding="utf-8")
    assert _imports_of_another_test(sample, "tests.x") == [
        "tests.api import test_scoping", "tests.browser import *", "tests.db.test_models import world", "tests.web.conftest",
        "tests.x.conftest import login"]

    sources = sorted((REPO / "tests").rglob("*.py"))
    assert len(sources) > 50, "the scan found too few test files to mean anything"
    wrong = {}
    for path in sources:
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        package = name.removesuffix(".__init__") if path.name == "__init__.py" else name.rpartition(".")[0]
        if found := _imports_of_another_test(path, package):
            wrong[str(path.relative_to(REPO))] = found
    assert wrong == {}
