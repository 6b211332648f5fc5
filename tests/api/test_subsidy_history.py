"""A trainee's subsidy history through the API: who may read and record it, what is refused and
why, the audit trail, withdrawals, and that `histories` (what the decisions read) takes both
sources in a fixed number of queries."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from server.models import AuditEntry, Enrollment, Seal, SubsidyHistoryCheck, SubsidyHistoryEntry, Trainee, TrainingClass
from server.services.subsidy_history import histories

ENTRY = {"occupation_code": "2-02-38-03", "level": "junior", "training_start": "2025-04-01", "kind": "training",
         "region_code": "cq", "source": "hrss", "note": "人社系统查询 2026-05"}
CHECK = {"checked_on": "2026-05-20", "source": "hrss", "note": "人社系统查询，无其他记录"}


def url(world, suffix=""):
    return f"/api/trainees/{world.trainee_id}/subsidy-history{suffix}"


def seal(session, class_id, figures, at=None):
    """A subsidy export's seal of a class, as server.exports.service.seal_class writes it."""
    s = Seal(class_id=class_id, sealed_at=at or datetime(2026, 7, 1, tzinfo=UTC), sealed_by_name="yubei-admin",
             chain_seq=1, chain_hash="0" * 64, figures=figures)
    session.add(s)
    session.commit()
    return s


def test_staff_in_scope_record_an_entry_and_a_check_and_read_both_back(worlds, login):
    y = worlds["yubei"]
    admin = login("yubei-admin")
    resp = admin.post(url(y), json=ENTRY)
    assert resp.status_code == 201, resp.get_json()
    entry = resp.get_json()
    assert (entry["occupation_code"], entry["level"], entry["source"], entry["recorded_by"]) == (
        "2-02-38-03", "junior", "hrss", "yubei-admin")
    assert entry["occupation_name"] and entry["retracted"] is None
    resp = login("yubei-supervisor").post(url(y, "/checks"), json=CHECK)
    assert resp.status_code == 201, resp.get_json()
    for reader in ("yubei-admin", "yubei-supervisor", "city", "admin"):
        got = login(reader).get(url(y))
        assert got.status_code == 200, reader
        body = got.get_json()
        assert body["checked_on"] == "2026-05-20"
        assert [e["id"] for e in body["entries"]] == [entry["id"]]
        assert [c["recorded_by"] for c in body["checks"]] == ["yubei-supervisor"]


def test_a_legacy_occupation_code_is_stored_as_the_current_one(worlds, login):
    y = worlds["yubei"]
    resp = login("yubei-admin").post(url(y), json={**ENTRY, "occupation_code": "2-02-10-11"})  # ZJ's old 大数据 code
    assert resp.status_code == 201 and resp.get_json()["occupation_code"] == "2-02-38-03"


@pytest.mark.parametrize("username, statuses", [
    ("nanan-admin", {404}), ("nanan-supervisor", {404}), ("yubei-teacher", {403}), ("yubei-trainee", {403})])
def test_another_institution_or_district_gets_404_and_teachers_and_trainees_403(worlds, login, session, username, statuses):
    y = worlds["yubei"]
    api = login(username)
    assert api.get(url(y)).status_code in statuses
    assert api.post(url(y), json=ENTRY).status_code in statuses
    assert api.post(url(y, "/checks"), json=CHECK).status_code in statuses
    session.rollback()
    assert session.scalar(select(SubsidyHistoryEntry.id)) is None
    assert session.scalar(select(SubsidyHistoryCheck.id)) is None


@pytest.mark.parametrize("change, field, message", [
    ({"occupation_code": "9-99-99-99"}, "occupation_code", "未知职业编码"),
    ({"region_code": "mars"}, "region_code", "未知地区"),
    ({"training_start": "2999-01-01"}, "training_start", "不能晚于今天"),
    ({"training_start": "1990-01-01"}, "training_start", "早于学员出生日期"),  # born 1995
    ({"level": "expert"}, "level", "输入有误"),
    ({"kind": "bonus"}, "kind", "输入有误"),
    ({"source": "rumour"}, "source", "输入有误"),
    ({"training_start": "2026-02-30"}, "training_start", "输入有误"),
])
def test_bad_input_is_refused_with_422_naming_the_field_in_chinese(worlds, login, session, change, field, message):
    resp = login("yubei-admin").post(url(worlds["yubei"]), json={**ENTRY, **change})
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert message in error["message"]
    assert field in [f["field"] for f in error["fields"]]
    session.rollback()
    assert session.scalar(select(SubsidyHistoryEntry.id)) is None


@pytest.mark.parametrize("checked_on, message", [
    ((datetime.now(UTC) + timedelta(days=2)).date().isoformat(), "核对日期不能晚于今天"),
    ("0001-01-01", "早于学员出生日期")])
def test_a_check_dated_in_the_future_or_before_the_trainees_birth_is_refused(worlds, login, checked_on, message):
    resp = login("yubei-admin").post(url(worlds["yubei"], "/checks"), json={**CHECK, "checked_on": checked_on})
    assert resp.status_code == 422 and message in resp.get_json()["error"]["message"]


def test_every_write_is_in_the_audit_log_with_who_and_what(worlds, login, session):
    y = worlds["yubei"]
    api = login("yubei-admin")
    entry = api.post(url(y), json=ENTRY).get_json()
    api.post(url(y, "/checks"), json=CHECK)
    api.post(url(y, f"/{entry['id']}/retract"), json={"reason": "录错了学员"})
    session.rollback()
    trail = list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("subsidy_history.%")).order_by(AuditEntry.id)))
    assert [(a.action, a.actor_name, a.entity, a.entity_id) for a in trail] == [
        ("subsidy_history.record", "yubei-admin", "trainee", y.trainee_id),
        ("subsidy_history.check", "yubei-admin", "trainee", y.trainee_id),
        ("subsidy_history.retract", "yubei-admin", "trainee", y.trainee_id)]
    assert trail[0].after["occupation_code"] == "2-02-38-03" and trail[0].institution_id == y.institution_id
    assert trail[1].after["checked_on"] == "2026-05-20"
    assert trail[2].before["entry_id"] == entry["id"] and trail[2].after["reason"] == "录错了学员"
    assert "subsidy_history.record" in [a["action"] for a in api.get("/api/audit").get_json()]


def test_a_mistaken_entry_is_withdrawn_by_a_new_row_and_no_longer_counts(worlds, login, session):
    y = worlds["yubei"]
    api = login("yubei-admin")
    entry = api.post(url(y), json=ENTRY).get_json()
    assert len(histories(session, [y.trainee_id], except_class_id=None)[y.trainee_id].entries) == 1
    session.rollback()
    resp = api.post(url(y, f"/{entry['id']}/retract"), json={"reason": "录错了学员"})
    assert resp.status_code == 201 and resp.get_json()["retracts_id"] == entry["id"]
    assert api.post(url(y, f"/{entry['id']}/retract"), json={"reason": "再撤一次"}).status_code == 409
    assert api.post(url(y, f"/{resp.get_json()['id']}/retract"), json={"reason": "撤回撤回"}).status_code == 404
    listed = api.get(url(y)).get_json()["entries"]
    assert [(e["id"], e["retracted"]["reason"]) for e in listed] == [(entry["id"], "录错了学员")]
    session.rollback()
    assert histories(session, [y.trainee_id], except_class_id=None)[y.trainee_id].entries == ()
    # An entry of another trainee is not found through this trainee.
    n = worlds["nanan"]
    other = login("nanan-admin").post(url(n), json=ENTRY).get_json()
    assert api.post(url(y, f"/{other['id']}/retract"), json={"reason": "不是本人"}).status_code == 404


def test_the_history_tables_refuse_update_and_delete_even_with_sql(worlds, login, session):
    y = worlds["yubei"]
    login("yubei-admin").post(url(y), json=ENTRY)
    login("yubei-admin").post(url(y, "/checks"), json=CHECK)
    session.rollback()
    for sql in ("UPDATE subsidy_history_entries SET level = 'senior'", "DELETE FROM subsidy_history_entries",
                "UPDATE subsidy_history_checks SET checked_on = '2020-01-01'", "DELETE FROM subsidy_history_checks"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql))
        session.rollback()


def test_a_subsidy_sealed_in_a_class_the_reader_cannot_see_is_listed_without_naming_that_class(worlds, login, session):
    y, n = worlds["yubei"], worlds["nanan"]
    # The yubei trainee was also in nanan's class, sealed eligible there.
    other = Enrollment(class_id=n.class_id, trainee_id=y.trainee_id)
    session.add(other)
    session.flush()
    seal(session, n.class_id, {str(other.id): {"eligible": True, "amount": "6688.00", "credited": "160.00"}})
    listed = login("yubei-admin").get(url(y)).get_json()["entries"]
    assert [(e["source"], e["occupation_code"], e["level"], e["training_start"], e["class"]) for e in listed] == [
        ("sealed_export", "2-02-38-04", "mid", "2026-03-01", None)]
    assert login("city").get(url(y)).get_json()["entries"][0]["class"] == {"id": n.class_id, "name": "nanan class"}


def test_histories_take_other_classes_eligible_seals_and_recorded_entries_in_a_fixed_number_of_queries(
        app, worlds, login, session):
    y = worlds["yubei"]
    cls = session.get(TrainingClass, y.class_id)
    # Thirty trainees, each in a second class sealed eligible for half of them.
    other = TrainingClass(institution_id=cls.institution_id, region_code="cq", district_id=cls.district_id, name="第二期",
                          occupation_code=cls.occupation_code, level=cls.level, starts_on=date(2026, 9, 1),
                          ends_on=date(2026, 12, 1))
    session.add(other)
    session.flush()
    figures, ids = {}, []
    for i in range(30):
        t = Trainee(resident_id=_rid(i), name=f"学员{i}")
        session.add(t)
        session.flush()
        ids.append(t.id)
        e1, e2 = Enrollment(class_id=cls.id, trainee_id=t.id), Enrollment(class_id=other.id, trainee_id=t.id)
        session.add_all([e1, e2])
        session.flush()
        figures[str(e2.id)] = {"eligible": i % 2 == 0, "amount": None}
    seal(session, other.id, {k: {**v, "eligible": False} for k, v in figures.items()},
         at=datetime(2026, 12, 1, tzinfo=UTC))
    seal(session, other.id, figures, at=datetime(2026, 12, 2, tzinfo=UTC))  # the latest seal counts
    login("yubei-admin").post(url(y), json=ENTRY)
    session.rollback()

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.get_bind()
    histories(session, ids[:1], except_class_id=cls.id)  # the transaction's own first statements are not the count
    event.listen(engine, "before_cursor_execute", count)
    try:
        one = histories(session, ids[:1], except_class_id=cls.id)
        n_one = len(statements)
        statements.clear()
        many = histories(session, ids, except_class_id=cls.id)
        n_many = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert n_one == n_many <= 4
    assert [len(many[t].entries) for t in ids] == [1 if i % 2 == 0 else 0 for i in range(30)]
    assert one[ids[0]].entries[0].training_start == date(2026, 9, 1) and one[ids[0]].entries[0].region == "cq"
    # The class being decided does not count its own seal.
    assert histories(session, ids[:1], except_class_id=other.id)[ids[0]].entries == ()
    both = histories(session, [y.trainee_id], except_class_id=None)[y.trainee_id]
    assert [e.occupation for e in both.entries] == ["2-02-38-03"] and both.checked_on is None


def _rid(i: int) -> str:
    from policies.identity import resident_id_check_digit

    first17 = f"50011219900101{i:03d}"
    return first17 + resident_id_check_digit(first17)
