"""Log-in, lock-out, CSRF and the trainee's first log-in, with real argon2 and real sessions."""
from __future__ import annotations

from sqlalchemy import select

from server.models import AuditEntry, User
from tests.factories import DEVICE, PASSWORD


def test_a_staff_user_logs_in_and_the_session_knows_who_they_are(worlds, login):
    api = login("yubei-admin")
    me = api.get("/api/auth/me").get_json()
    assert me["user"]["role"] == "institution_admin"
    assert me["user"]["institution_id"] == worlds["yubei"].institution_id


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(worlds, client):
    wrong = client.post("/api/auth/login", json={"username": "yubei-admin", "password": "wrong-password"})
    unknown = client.post("/api/auth/login", json={"username": "nobody-here", "password": "whatever-1"})
    assert (wrong.status_code, wrong.get_json()) == (unknown.status_code, unknown.get_json())
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "bad_credentials"


def test_the_right_password_from_another_phone_counts_toward_lock_out(worlds, client):
    bound = client.post("/api/auth/login", json={"username": "yubei-trainee", "password": PASSWORD, "device_id": DEVICE})
    assert bound.status_code == 200  # this phone is now the bound one
    for _ in range(4):
        client.post("/api/auth/login", json={"username": "yubei-trainee", "password": "wrong-password", "device_id": DEVICE})
    resp = client.post("/api/auth/login", json={"username": "yubei-trainee", "password": PASSWORD,
                                                "device_id": "another-phone-0001"})
    assert resp.status_code == 423  # the fifth failure: locked, though the password was right


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(worlds, client):
    for _ in range(5):
        client.post("/api/auth/login", json={"username": "yubei-admin", "password": "wrong-password"})
    resp = client.post("/api/auth/login", json={"username": "yubei-admin", "password": PASSWORD})
    assert resp.status_code == 423
    assert "锁定至" in resp.get_json()["error"]["message"]


def test_too_many_attempts_from_one_address_are_throttled(worlds, app):
    from server.services.accounts import AttemptLimiter

    app.extensions["hourproof_login_limiter"] = AttemptLimiter(limit=3, window_s=60)
    client = app.test_client()
    codes = [client.post("/api/auth/login", json={"username": f"u{i}-xx", "password": "nope-nope"}).status_code
             for i in range(4)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_a_whole_class_logging_in_from_one_address_is_never_throttled(worlds, app):
    from server.services.accounts import AttemptLimiter

    app.extensions["hourproof_login_limiter"] = AttemptLimiter(limit=3, window_s=60)
    codes = [app.test_client().post("/api/auth/login", json={"username": "yubei-admin", "password": PASSWORD}).status_code
             for _ in range(10)]
    assert codes == [200] * 10  # successes do not count; only failures from an address do


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(worlds, app, migrated_url, tmp_path):
    from server import create_app

    proxied = create_app({"TESTING": True, "database_url": app.config["HOURPROOF_SETTINGS"].database_url,
                          "data_dir": tmp_path / "p", "secret_key": "x", "ENV": {"HOURPROOF_PROXY_HOPS": "1"}})
    from server.services.accounts import AttemptLimiter

    proxied.extensions["hourproof_login_limiter"] = AttemptLimiter(limit=2, window_s=60)
    client = proxied.test_client()
    bad = {"username": "yubei-admin", "password": "wrong-password"}
    for _ in range(2):
        client.post("/api/auth/login", json=bad, headers={"X-Forwarded-For": "203.0.113.7"})
    assert client.post("/api/auth/login", json=bad, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    try:
        # Another phone behind the same proxy is not punished for the first one's failures.
        assert client.post("/api/auth/login", json={"username": "yubei-supervisor", "password": PASSWORD},
                           headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 200
    finally:
        from server import close_app

        close_app(proxied)


def test_a_post_without_the_csrf_token_is_refused(worlds, login):
    api = login("yubei-admin")
    resp = api.client.post("/api/teachers", json={"name": "新老师"})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "csrf_failed"
    ok = api.post("/api/teachers", json={"name": "新老师"})
    assert ok.status_code == 201


def test_without_a_session_the_api_asks_for_log_in(worlds, client):
    resp = client.get("/api/classes")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["message"] == "请先登录"


def test_a_trainee_log_in_binds_the_phone_and_another_phone_is_refused(worlds, app, session):
    first = app.test_client().post("/api/auth/login", json={"username": "yubei-trainee", "password": PASSWORD, "device_id": DEVICE})
    assert first.status_code == 200
    other = app.test_client().post("/api/auth/login", json={"username": "yubei-trainee", "password": PASSWORD,
                                                            "device_id": "another-phone-123"})
    assert other.status_code == 403
    assert "绑定另一台手机" in other.get_json()["error"]["message"]
    user = session.scalar(select(User).where(User.username == "yubei-trainee"))
    assert user.device_id == DEVICE
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "device.bind")) is not None


def test_a_trainee_log_in_without_a_device_id_is_refused_with_the_field_named(worlds, client):
    resp = client.post("/api/auth/login", json={"username": "yubei-trainee", "password": PASSWORD})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"][0]["field"] == "device_id"


def test_an_institution_can_unbind_a_trainees_phone_and_it_is_audited(worlds, login, app):
    login("yubei-trainee")
    admin = login("yubei-admin")
    resp = admin.post(f"/api/users/{worlds['yubei'].trainee_user_id}/unbind-device", json={"reason": "学员更换了手机"})
    assert resp.status_code == 200 and resp.get_json()["user"]["device_bound"] is False
    new_phone = app.test_client().post("/api/auth/login", json={"username": "yubei-trainee", "password": PASSWORD,
                                                                "device_id": "new-phone-98765"})
    assert new_phone.status_code == 200


def test_a_new_trainee_activates_with_the_one_time_code_then_logs_in_with_the_password(worlds, login, app):
    admin = login("yubei-admin")
    resp = admin.post(f"/api/classes/{worlds['yubei'].class_id}/enrollments",
                      json={"resident_id": "500112200102150647", "name": "陈小雨", "phone": "13900000009"})
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["activation_code"]
    assert code and len(code) == 8
    phone = app.test_client()
    no_password_yet = phone.post("/api/auth/login", json={"username": "13900000009", "password": "anything-1", "device_id": DEVICE})
    # Not yet activated reads like any wrong log-in: nobody learns the account exists.
    unknown = phone.post("/api/auth/login", json={"username": "13900000099", "password": "anything-1", "device_id": DEVICE})
    assert (no_password_yet.status_code, no_password_yet.get_json()) == (401, unknown.get_json())
    act = phone.post("/api/auth/activate", json={"username": "13900000009", "activation_code": code,
                                                 "new_password": "my-new-secret-1", "device_id": DEVICE})
    assert act.status_code == 200, act.get_json()
    reuse = app.test_client().post("/api/auth/activate", json={"username": "13900000009", "activation_code": code,
                                                               "new_password": "another-secret-2", "device_id": DEVICE})
    assert reuse.status_code == 401
    again = app.test_client().post("/api/auth/login", json={"username": "13900000009", "password": "my-new-secret-1", "device_id": DEVICE})
    assert again.status_code == 200


def test_logging_out_ends_the_session(worlds, login):
    api = login("yubei-admin")
    assert api.post("/api/auth/logout").status_code == 200
    assert api.get("/api/auth/me").status_code == 401


def test_the_first_admin_is_created_from_the_command_line(app, migrated_url, tmp_path, capsys, monkeypatch):
    from server.cli import main

    monkeypatch.setenv("DATABASE_URL", app.config["HOURPROOF_SETTINGS"].database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOURPROOF_PASSWORD", "first-admin-pass")
    assert main(["user", "create", "--username", "root-admin", "--role", "admin", "--name", "管理员"]) == 0
    assert "root-admin" in capsys.readouterr().out
    resp = app.test_client().post("/api/auth/login", json={"username": "root-admin", "password": "first-admin-pass"})
    assert resp.status_code == 200
    assert main(["user", "create", "--username", "root-admin", "--role", "admin", "--name", "x"]) == 2
    assert "已存在" in capsys.readouterr().err


def test_guessing_activation_codes_locks_the_account_after_five_tries(worlds, login, app):
    admin = login("yubei-admin")
    resp = admin.post(f"/api/classes/{worlds['yubei'].class_id}/enrollments",
                      json={"resident_id": "500112200102150647", "name": "陈小雨", "phone": "13900000009"})
    code = resp.get_json()["activation_code"]
    phone = app.test_client()
    guesses = [f"{n:08d}" for n in range(6) if f"{n:08d}" != code][:5]
    answers = [phone.post("/api/auth/activate", json={"username": "13900000009", "activation_code": g,
                                                      "new_password": "abcdefgh1", "device_id": DEVICE}).status_code
               for g in guesses]
    assert answers == [401, 401, 401, 401, 423]
    # Even the right code waits out the lock.
    resp = phone.post("/api/auth/activate", json={"username": "13900000009", "activation_code": code,
                                                  "new_password": "abcdefgh1", "device_id": DEVICE})
    assert resp.status_code == 423


def test_a_username_that_looks_like_another_or_uses_look_alike_letters_is_refused(worlds, login):
    admin = login("admin")
    body = {"display_name": "x", "role": "district_supervisor", "password": "long-enough-1",
            "district_id": worlds["yubei"].district_id}
    answers = {name: admin.post("/api/users", json={**body, "username": name})
               for name in ("yubei-аdmin", "yubei\u200badmin", "yubei\u2010admin", "YUBEI-ADMIN", "yube1-admin")}
    codes = {name: (r.status_code, r.get_json()["error"]["code"]) for name, r in answers.items()}
    assert codes == {"yubei-аdmin": (422, "invalid_username"), "yubei\u200badmin": (422, "invalid_username"),
                     "yubei\u2010admin": (422, "invalid_username"), "YUBEI-ADMIN": (409, "username_confusable"),
                     "yube1-admin": (409, "username_confusable")}
    # Full-width letters are the same name: taken.
    assert admin.post("/api/users", json={**body, "username": "ｙｕｂｅｉ-ａｄｍｉｎ"}).status_code == 409
    assert admin.post("/api/users", json={**body, "username": "yubei-sup-2"}).status_code == 201
