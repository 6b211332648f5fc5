"""The application factory and its error handling, against a real database."""
from __future__ import annotations


def test_health_answers_with_the_database_in_use_and_its_schema_revision(client, migrated_url):
    resp = client.get("/api/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["database"] == ("sqlite" if migrated_url.startswith("sqlite") else "postgresql")
    assert body["schema"] is not None


def test_the_landing_page_is_in_chinese_and_counts_what_is_there(client):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "培训班" in html


def test_an_unknown_url_answers_json_with_a_code(client):
    resp = client.get("/api/no-such-thing")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_a_database_that_does_not_answer_gives_503_with_a_message_not_a_traceback(tmp_path):
    from server import create_app

    # Nothing listens on port 1: the connection is refused at once.
    app = create_app({"TESTING": True, "database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "data_dir": tmp_path, "secret_key": "x", "ENV": {}})
    resp = app.test_client().get("/api/health")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["error"]["code"] == "database_unavailable"
    assert "稍后重试" in body["error"]["message"]


def test_two_apps_in_one_process_keep_their_own_databases(tmp_path):
    from server import create_app
    from server.extensions import db

    a = create_app({"database_url": f"sqlite:///{tmp_path / 'a.db'}", "data_dir": tmp_path, "secret_key": "x", "ENV": {}})
    b = create_app({"database_url": f"sqlite:///{tmp_path / 'b.db'}", "data_dir": tmp_path, "secret_key": "x", "ENV": {}})
    with a.app_context():
        assert db.engine.url.database.endswith("a.db")
    with b.app_context():
        assert db.engine.url.database.endswith("b.db")
