"""The subsidy decisions of an export count the trainee's subsidy history: a subsidy sealed in
another class or recorded from outside refuses under the region's frequency limits, with the
clause; a history nobody checked says so in the decision, a checked one says when."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime

from server.models import Enrollment, Seal, TrainingClass
from tests.factories import export


def decision(api, class_id: int) -> dict:
    """The decision row of the class's (only) trainee, by column heading."""
    _, data = export(api, class_id)
    z = zipfile.ZipFile(io.BytesIO(data))
    [name] = [n for n in z.namelist() if "-补贴核定-" in n and n.endswith(".csv")]
    raw = z.read(name)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 2, rows
    return dict(zip(rows[0], rows[1], strict=True))


def second_class(session, world, starts_on: date) -> int:
    """Another class of the same institution, occupation and level, with the world's trainee in it."""
    first = session.get(TrainingClass, world.class_id)
    cls = TrainingClass(institution_id=first.institution_id, region_code="cq", district_id=first.district_id,
                        name="第二期", occupation_code=first.occupation_code, level=first.level, starts_on=starts_on,
                        ends_on=date(starts_on.year, 12, 20), fee=first.fee)
    session.add(cls)
    session.flush()
    session.add(Enrollment(class_id=cls.id, trainee_id=world.trainee_id))
    session.commit()
    return cls.id


def seal_eligible(session, world) -> None:
    """The world's class was exported for a subsidy, the trainee found eligible (as seal_class writes it)."""
    session.add(Seal(class_id=world.class_id, sealed_at=datetime(2026, 7, 1, tzinfo=UTC), sealed_by_name="yubei-admin",
                     chain_seq=1, chain_hash="0" * 64,
                     figures={str(world.enrollment_id): {"credited": "160.00", "eligible": True, "amount": "6688.00"}}))
    session.commit()


def test_a_trainee_sealed_eligible_in_another_class_is_refused_in_this_ones_decisions_with_the_clause(
        worlds, login, session):
    y = worlds["yubei"]
    api = login("yubei-admin")
    later = second_class(session, y, date(2026, 9, 1))  # the same year as the sealed class (2026-03-01)
    assert "yearly_limit_reached" not in decision(api, later)["理由（条款）"]
    seal_eligible(session, y)
    d = decision(api, later)
    assert d["核定结论"] == "不符合"
    assert "[cq 3.4] 2026 年（按培训开始时间）已享受 1 次补贴，每年最多 1 次。 (yearly_limit_reached)" in d["理由（条款）"]
    # The sealed class does not count its own seal.
    assert "yearly_limit_reached" not in decision(api, y.class_id)["理由（条款）"]


def test_a_seal_that_found_the_trainee_not_eligible_is_not_an_earlier_subsidy(worlds, login, session):
    y = worlds["yubei"]
    later = second_class(session, y, date(2026, 9, 1))
    session.add(Seal(class_id=y.class_id, sealed_at=datetime(2026, 7, 1, tzinfo=UTC), sealed_by_name="yubei-admin",
                     chain_seq=1, chain_hash="0" * 64, figures={str(y.enrollment_id): {"eligible": False, "amount": None}}))
    session.commit()
    assert "yearly_limit_reached" not in decision(login("yubei-admin"), later)["理由（条款）"]


def test_a_subsidy_recorded_from_the_hrss_system_refuses_like_a_sealed_one(worlds, login):
    y = worlds["yubei"]
    api = login("yubei-admin")
    resp = api.post(f"/api/trainees/{y.trainee_id}/subsidy-history",
                    json={"occupation_code": "2-02-38-03", "level": "junior", "training_start": "2026-01-10",
                          "region_code": "cq", "source": "hrss"})
    assert resp.status_code == 201, resp.get_json()
    reasons = decision(api, y.class_id)["理由（条款）"]
    assert "(yearly_limit_reached)" in reasons and "[cq 3.4] 2026 年" in reasons
    assert "已知的 1 条记录" in reasons  # and the record was not checked as a whole


def test_without_a_check_the_decision_says_the_history_was_not_checked_and_after_one_it_says_when(worlds, login):
    y = worlds["yubei"]
    api = login("yubei-admin")
    before = decision(api, y.class_id)["理由（条款）"]
    assert "(history_not_checked)" in before
    line = next(x for x in before.splitlines() if "history_not_checked" in x)
    assert line.startswith("[cq 3.4] ") and "每年最多享受 1 次培训补贴" in line and "累计最多享受 3 次培训补贴" in line
    resp = login("yubei-supervisor").post(f"/api/trainees/{y.trainee_id}/subsidy-history/checks",
                                          json={"checked_on": "2026-05-20", "source": "hrss", "note": "无补贴记录"})
    assert resp.status_code == 201, resp.get_json()
    after = decision(api, y.class_id)["理由（条款）"]
    assert "history_not_checked" not in after
    assert "[cq 3.4] 补贴享受记录已于 2026-05-20 全面核对，计入本地区的记录 0 条" in after
