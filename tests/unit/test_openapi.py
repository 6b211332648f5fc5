"""The OpenAPI document integrators read (/api/openapi.json, shown at /api/docs): every operation
documents its success statuses with a body, a JSON schema from its response model
(server/api/responses.py) or the content type of the file it sends. That the answers match it is
checked on every request the API tests make (tests/conftest.py::app, factories.answer_problem)."""
from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def spec():
    import server.api  # noqa: F401 - routes register on import
    from server.api.openapi import build_spec

    return build_spec()


def _operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def test_every_operation_documents_a_success_body_a_schema_or_a_file_type(spec):
    empty = []
    for name, op in _operations(spec):
        successes = {code: r for code, r in op["responses"].items() if re.fullmatch(r"2\d\d", code)}
        assert successes, name
        for code, r in successes.items():
            for media, content in r["content"].items():
                if media == "application/json" and not content["schema"]:
                    empty.append(f"{name} {code}")
                elif media != "application/json":
                    assert content["schema"] == {"type": "string", "format": "binary"}, name
    assert not empty, "give these endpoint(..., response=...) in server/api/responses.py or produces=: " + ", ".join(empty)


def test_every_schema_the_document_refers_to_is_in_it(spec):
    text = repr(spec)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in spec["components"]["schemas"], name


def test_the_check_in_answers_201_for_a_new_event_and_200_for_a_replay(spec):
    op = spec["paths"]["/api/lessons/{lesson_id}/events"]["post"]
    assert {"200", "201"} <= set(op["responses"])
    assert op["responses"]["201"]["content"]["application/json"]["schema"]


def test_files_are_documented_with_their_content_type(spec):
    def media(path, method="get"):
        return next(c for code, r in spec["paths"][path][method]["responses"].items() if code.startswith("2")
                    for c in r["content"])

    assert media("/api/export-jobs/{job_id}/download") == "application/zip"
    assert media("/api/classes/{class_id}/activation-slips", "post") == "application/pdf"
    assert media("/api/events/{event_id}/frames/{index}").startswith("image/")


def test_the_answer_check_refuses_an_undocumented_status_and_a_body_its_model_refuses(spec):
    import json

    from flask import Response

    from tests.factories import answer_problem

    def answer(body, status, mimetype="application/json"):
        return Response(json.dumps(body) if mimetype == "application/json" else body, status=status, mimetype=mimetype)

    rule = "/api/lessons/<int:lesson_id>/room-code"
    good = {"lesson_id": 1, "code": "123456", "valid_from": "2026-03-02T09:00:00+08:00",
            "changes_at": "2026-03-02T09:01:00+08:00", "interval_s": 60, "accepted_for_s": 120}
    assert answer_problem("GET", rule, answer(good, 200)) is None
    assert "documented 200" in answer_problem("GET", rule, answer(good, 201))
    assert "RoomCodeOut" in answer_problem("GET", rule, answer({**good, "extra": 1}, 200))
    assert "RoomCodeOut" in answer_problem("GET", rule, answer({**good, "code": None}, 200))
    assert answer_problem("GET", rule, answer({"error": {}}, 404)) is None  # errors: the 4XX schema
    # the check-in: 201 for a new event, 200 for a replay, both documented
    events = "/api/lessons/<int:lesson_id>/events"
    assert "documented 201, 200" in answer_problem("POST", events, answer({}, 202))
    frames = "/api/events/<int:event_id>/frames/<int:index>"
    assert answer_problem("GET", frames, answer(b"\xff\xd8", 200, "image/jpeg")) is None
    assert "image/*" in answer_problem("GET", frames, answer(b"x", 200, "text/html"))
