"""recognition/ is the pure face pipeline: it must never reach into the web app or a database."""
from __future__ import annotations

import ast
from pathlib import Path

import recognition

FORBIDDEN = ("server", "flask", "flask_socketio", "sqlalchemy", "alembic", "logging")


def test_the_recognition_package_imports_no_web_database_or_logging_module():
    root = Path(recognition.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_every_public_name_is_exported():
    for name in recognition.__all__:
        assert hasattr(recognition, name), name
