"""Schemathesis against the OpenAPI document, on a seeded database (the two worlds; SQLite and
PostgreSQL): requests generated from every operation's documented parameters and bodies, sent
with a signed-in session, never answer 5xx, and every answer matches what the document says
(status documented, body valid against its schema, content type as declared).

Bounded to stay well under a minute: a couple of examples per operation, no shrinking. Operations
that end the session (log-out) are left out, or the calls after them would all be 401."""
from __future__ import annotations

import pytest

#: Ends the session every later call relies on.
SKIPPED = {("POST", "/api/auth/logout")}
EXAMPLES = 2


#: Who calls: the admin, the institution's admin, the district's supervisor and a trainee, each in
#: their own scope (the capabilities differ; a role refused an operation answers 403, never 5xx).
USERS = ["admin", "yubei-admin", "yubei-supervisor", "yubei-trainee"]
#: Path parameters point at the seeded world's rows (a random id only ever finds nothing: 404).
WORLD_IDS = {"class_id": "class_id", "district_id": "district_id", "duty_id": "duty_id", "enrollment_id": "enrollment_id",
             "entry_id": "history_entry_id", "event_id": "event_id", "institution_id": "institution_id",
             "job_id": "export_job_id", "lesson_id": "lesson_id", "template_id": "held_template_id",
             "trainee_id": "trainee_id", "user_id": "trainee_user_id", "venue_id": "venue_id"}


@pytest.mark.parametrize("username", USERS)
def test_generated_requests_never_answer_5xx_and_match_the_document(app, worlds, username):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

    from server.api.openapi import build_spec
    from tests.factories import log_in

    api = log_in(app, username)
    cookie = api.client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    headers, cookies = {"X-CSRF-Token": api.csrf}, {cookie.key: cookie.value}
    world = worlds["yubei"]
    ids = {name: getattr(world, attr) for name, attr in WORLD_IDS.items() if getattr(world, attr)}

    schema = schemathesis.openapi.from_dict(build_spec())
    schema.app = app
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 50

    for op in operations:
        if (op.method.upper(), op.path) in SKIPPED:
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            if case.path_parameters:
                case.path_parameters = {k: ids.get(k, v) for k, v in case.path_parameters.items()}
            response = case.call(headers=headers, cookies=cookies)
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                                          content_type_conformance], headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # collect them all, report at the end
                failures.append(f"{case.method.upper()} {case.formatted_path} -> {response.status_code}: {str(exc)[:800]}")

        run()
    if failures:
        pytest.fail(f"{len(failures)} failing calls as {username}:\n" + "\n\n".join(failures[:20]))
