"""Who may do what is spelled once: server/permissions.py.

Why: when the same set of roles is written out in several modules (an endpoint's roles, the
service's check, the page's flag, the Socket.IO room), one copy changes and the others do not,
and no test notices. So a static scan fails on any set of roles written out anywhere else under
server/, every endpoint names its capability (or is deliberately public or open to any signed-in
user), and the OpenAPI document shows it.

What the scan cannot tell from a permission is a `match actor.role:` that picks a *scope* (which
rows, which room); services/scope.py and services/dashboard.py do that, one case per scope.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from server.models import Role
from server.permissions import INSTITUTION_SIDE, ROLES, Capability, allows, role_names, roles_for

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "server" / "permissions.py"

#: Endpoints open to any signed-in user: what they return is the caller's own scope (or
#: reference data), decided by the service. A new endpoint without a capability fails
#: test_every_endpoint_names_its_capability_or_is_deliberately_open until it is listed here.
ANY_SIGNED_IN = {
    ("POST", "/api/auth/logout"), ("GET", "/api/auth/me"),
    ("GET", "/api/classes"), ("GET", "/api/classes/<int:class_id>"), ("GET", "/api/classes/<int:class_id>/plan-check"),
    ("GET", "/api/classes/<int:class_id>/enrollments"), ("GET", "/api/enrollments/<int:enrollment_id>/ledger"),
    ("GET", "/api/institutions"), ("GET", "/api/institutions/<int:institution_id>/venues"),
    ("GET", "/api/institutions/<int:institution_id>/teachers"), ("GET", "/api/districts"),
    ("GET", "/api/consent-text"),
    ("POST", "/api/trainees/<int:trainee_id>/consent"),  # the trainee on the phone, or staff (enrol_trainees) on paper
    # an online lesson's video: its enrolled trainees, and staff who see the class (services/lesson_media.watchable)
    ("GET", "/api/lessons/<int:lesson_id>/media"), ("GET", "/api/lessons/<int:lesson_id>/media/file"),
    # its checkpoint quiz: the questions to its enrolled trainees, with the answers to staff who see
    # the class (services/quizzes.view)
    ("GET", "/api/lessons/<int:lesson_id>/quiz"),
}


def _is_role(node: ast.AST) -> bool:
    """`Role.x` (or `models.Role.x`)."""
    return isinstance(node, ast.Attribute) and (
        (isinstance(node.value, ast.Name) and node.value.id == "Role")
        or (isinstance(node.value, ast.Attribute) and node.value.attr == "Role"))


def _compares_role(node: ast.AST) -> bool:
    """`x is Role.a`, `x == Role.a` (either side)."""
    return (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Is, ast.Eq))
            and (_is_role(node.left) or _is_role(node.comparators[0])))


def role_sets(source: str, filename: str = "<source>") -> list[str]:
    """Every place in `source` that spells a set of roles: a tuple / list / set literal of two or
    more `Role.x` (or of nothing but one), `Role.x | Role.y`, and `r is Role.x or r is Role.y`."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            roles = sum(_is_role(e) for e in node.elts)
            hit = roles >= 2 or (roles == len(node.elts) == 1)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            hit = _is_role(node.left) or _is_role(node.right)
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            hit = sum(_compares_role(v) for v in node.values) >= 2
        else:
            continue
        if hit:
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


def _server_sources() -> list[Path]:
    return sorted(p for p in (REPO / "server").rglob("*.py") if p != TABLE)


def test_no_module_but_the_permissions_table_spells_a_set_of_roles():
    files = _server_sources()
    assert len(files) > 50, "server/ has fewer Python files than expected: is the scan looking in the right place?"
    found = [hit for f in files for hit in role_sets(f.read_text(encoding="utf-8"), str(f.relative_to(REPO)))]
    assert found == [], "spell these as a capability in server/permissions.py:\n" + "\n".join(found)


@pytest.mark.parametrize("source", [
    "STAFF = (Role.admin, Role.institution_admin)",
    "ok = actor.role in [Role.teacher, Role.admin]",
    "ok = actor.role in {Role.teacher, Role.admin}",
    "WHO = frozenset({Role.teacher, Role.admin})",
    "require_role(actor, (Role.admin,))",
    "ok = actor.role in (models.Role.teacher, models.Role.admin)",
    "ok = actor.role in Role.teacher | Role.admin",
    "ok = actor.role is Role.teacher or actor.role is Role.admin",
    "def f(actor):\n    if actor.role == Role.teacher or Role.admin == actor.role:\n        return 1",
])
def test_the_scan_sees_each_way_of_spelling_a_set_of_roles(source):
    assert role_sets(source) != []


@pytest.mark.parametrize("source", [
    "ok = actor.role is Role.trainee",
    "match actor.role:\n    case Role.institution_admin | Role.teacher:\n        pass",
    "NAMES = {Role.admin: 'a', Role.teacher: 't'}",
    "ok = actor.role is Role.admin or (actor.role is Role.city_reviewer and actor.city_id == 1)",
    "pair = (Role.admin, 'x')",
])
def test_the_scan_leaves_single_roles_scope_dispatch_and_role_keyed_dicts_alone(source):
    assert role_sets(source) == []


def test_every_capability_has_roles_and_says_what_it_allows():
    assert set(ROLES) == set(Capability)
    for cap in Capability:
        assert ROLES[cap], cap
        assert isinstance(ROLES[cap], frozenset) and all(isinstance(r, Role) for r in ROLES[cap]), cap
        assert cap.__doc__ and cap.__doc__ != Capability.__doc__, f"{cap.value} has no docstring of its own"
    assert len({c.value for c in Capability}) == len(Capability)


def test_the_helpers_read_the_table():
    for cap in Capability:
        assert roles_for(cap) is ROLES[cap]
        assert role_names(cap) == [r.value for r in Role if r in ROLES[cap]]
        for role in Role:
            assert allows(role, cap) == (role in ROLES[cap])


def test_the_duty_endpoint_lets_in_exactly_those_who_may_close_some_duty():
    assert roles_for(Capability.MARK_DUTIES_DONE) == (roles_for(Capability.COMPLETE_FILING_DUTIES)
                                                       | roles_for(Capability.REVIEW_APPLICATIONS))


def test_the_institution_side_of_spot_checks_is_among_those_who_may_trigger_them():
    assert INSTITUTION_SIDE <= roles_for(Capability.TRIGGER_SPOT_CHECKS)


def test_only_those_who_enrol_trainees_may_unbind_their_phones_or_hand_them_new_codes():
    # A fresh code or an unbound phone lets whoever holds it become the trainee at check-in: not
    # teachers (who run the room) nor 人社 (who judge the evidence).
    for cap in (Capability.UNBIND_PHONES, Capability.REISSUE_ACTIVATION_CODES):
        assert roles_for(cap) == {Role.institution_admin, Role.admin} <= roles_for(Capability.ENROL_TRAINEES)


def test_every_capability_is_read_somewhere_outside_the_table():
    text = "\n".join(f.read_text(encoding="utf-8") for f in _server_sources())
    used = set(re.findall(r"Capability\.([A-Z_]+)", text))
    assert {c.name for c in Capability} - used == set()


@pytest.fixture(scope="module")
def registry():
    import server.api  # noqa: F401 - routes register on import
    from server.api.framework import REGISTRY

    assert REGISTRY
    return REGISTRY


def test_every_endpoint_names_its_capability_or_is_deliberately_open(registry):
    unnamed = {(e.method, e.path) for e in registry if e.capability is None and not e.public}
    assert unnamed - ANY_SIGNED_IN == set(), "give these a capability= or list them in ANY_SIGNED_IN"
    assert ANY_SIGNED_IN - unnamed == set(), "these are no longer open to any signed-in user: drop them from the list"
    assert all(e.capability is None for e in registry if e.public)


def test_an_endpoint_lets_in_exactly_the_roles_of_its_capability(registry):
    for e in registry:
        if e.capability is not None:
            assert e.roles == ROLES[e.capability]


def test_the_openapi_document_shows_each_operations_capability_and_roles(registry):
    from server.api.openapi import build_spec

    spec = build_spec()
    for e in registry:
        path = re.sub(r"<(?:int:)?([a-z_]+)>", r"{\1}", e.path)
        op = spec["paths"][path][e.method.lower()]
        if e.capability is not None:
            assert op["x-capability"] == e.capability.value
            assert op["x-roles"] == role_names(e.capability)
            assert e.capability.value in op["description"] and ", ".join(role_names(e.capability)) in op["description"]
        else:
            assert "x-capability" not in op
            assert ("security" in op) is not e.public
    assert spec["x-capabilities"] == {c.value: {"description": c.__doc__, "roles": role_names(c)} for c in Capability}
