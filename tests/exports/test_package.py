"""The exports package's shape: it sits on top of services and models, which never import it,
and every kind the API and the CLI offer has its builder in the registry.

Why: the export service and the exports package used to import each other, and an export's kind
was a string tested at every step. A static scan (which also sees imports inside functions) keeps
the dependency one way, where tests/unit/test_layering.py only forbids circles; the registry
check keeps a kind from being offered without a builder."""
from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import get_args

import pytest

REPO = Path(__file__).resolve().parents[2]


def _imports(path: Path, package: str | None = None) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) of every import in the file, at any depth, relative ones
    made absolute as seen from `package` (by default the file's own)."""
    if package is None:
        package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package if node.level else ""
            out.append((".".join(part for part in (base, node.module or "") if part), [alias.name for alias in node.names]))
    return out


def _names_exports(module: str, names: list[str]) -> bool:
    return module == "server.exports" or module.startswith("server.exports.") or (module == "server" and "exports" in names)


@pytest.mark.parametrize("layer", ["server/services", "server/models"])
def test_nothing_in_services_or_models_imports_the_exports_package_not_even_inside_a_function(layer):
    files = sorted((REPO / layer).rglob("*.py"))
    assert files
    offenders = {str(f.relative_to(REPO)): m for f in files for m, names in _imports(f) if _names_exports(m, names)}
    assert offenders == {}


def test_the_scan_sees_an_import_of_the_exports_package_hidden_in_a_function_or_made_relative(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from server.exports.service import export_class\n    from server import exports\n"
                      "    from ..exports import kinds\n    import server.exports.bundle\n", encoding="utf-8")
    found = _imports(sample, package="server.services")
    assert found == [("server.exports.service", ["export_class"]), ("server", ["exports"]), ("server.exports", ["kinds"]),
                     ("server.exports.bundle", [])]
    assert all(_names_exports(m, names) for m, names in found)


def test_the_api_offers_exactly_the_registered_kinds_of_class_export_and_only_subsidy_seals():
    from server.api.exports import ClassExportIn
    from server.exports import kinds

    offered = get_args(ClassExportIn.model_fields["kind"].annotation)
    assert list(offered) == list(kinds.CLASS_KINDS) == ["class", "subsidy", "js_filing", "certificates"]
    assert [k.name for k in kinds.CLASS_KINDS.values() if k.seals] == ["subsidy"]
    assert kinds.DISTRICT.name == "district" and kinds.DISTRICT.name not in kinds.CLASS_KINDS


def test_the_cli_takes_every_registered_kind_of_class_export_and_refuses_any_other(capsys):
    from server.cli.app import add_commands
    from server.exports import kinds

    parser = argparse.ArgumentParser(prog="hourproof")
    add_commands(parser.add_subparsers(dest="command"))
    for name in kinds.CLASS_KINDS:
        assert parser.parse_args(["export", "class", "1", "--kind", name]).kind == name
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "class", "1", "--kind", "district"])
    assert "invalid choice" in capsys.readouterr().err


def test_an_unknown_kind_is_refused_with_the_kinds_there_are():
    from server.errors import ApiError
    from server.exports import kinds

    with pytest.raises(ApiError) as refused:
        kinds.class_kind("district")
    assert (refused.value.status, refused.value.code) == (422, "unknown_export_kind")
    assert refused.value.message == "未知导出类型 'district'，可选：class, subsidy, js_filing, certificates"
