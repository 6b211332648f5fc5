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
