"""The roll of an online lesson shows who is really there (issue 18): each trainee's last report
(watching, paused, hidden, gone), the video position, the minutes credited so far and the spot
checks passed and missed, to the supervisor of the district."""
from __future__ import annotations

from tests.factories import Phone, log_in


def _presence(app, live) -> dict:
    supervisor = log_in(app, "supervisor")
    body = supervisor.get(f"/api/lessons/{live['online']}/roll").get_json()
    return {row["name"]: row["presence"] for row in body["trainees"]}


def test_the_online_roll_shows_a_trainee_watching_then_hidden_and_one_who_never_came_as_gone(app, live):
    phone = Phone(app)
    beat = {"visible": True, "position_s": 125.5, "playback": "playing", "rate": 1}
    assert phone.post(f"/api/lessons/{live['online']}/heartbeat", json=beat).status_code == 200
    seen = _presence(app, live)
    assert seen["林曼努"]["status"] == "watching"
    assert seen["林曼努"]["position_s"] == 125.5 and 0 <= seen["林曼努"]["age_s"] <= 5
    assert seen["林曼努"]["spot_checks"] == {"passed": 0, "missed": 0}
    assert seen["林曼努"]["credited_minutes"] == 0  # no verified check-in: nothing credited
    assert seen["罗斯林"]["status"] == "gone" and seen["罗斯林"]["last_at"] is None

    assert phone.post(f"/api/lessons/{live['online']}/heartbeat", json=beat | {"visible": False}).status_code == 200
    assert _presence(app, live)["林曼努"]["status"] == "hidden"
    paused = beat | {"playback": "paused"}
    assert phone.post(f"/api/lessons/{live['online']}/heartbeat", json=paused).status_code == 200
    assert _presence(app, live)["林曼努"]["status"] == "paused"


def test_an_offline_lessons_roll_has_no_presence(app, live):
    supervisor = log_in(app, "supervisor")
    body = supervisor.get(f"/api/lessons/{live['offline']}/roll").get_json()
    assert all("presence" not in row for row in body["trainees"])


def test_the_roll_and_the_class_list_are_in_pinyin_order_of_the_names(app, live, session):
    """The live world's 林曼努 (lin) and 罗斯林 (luo), and three more whose code point order is
    not their pinyin order."""
    from policies.identity import resident_id_check_digit
    from server.models import Enrollment, Trainee

    for i, name in enumerate(["孙丽", "张伟", "李静"]):
        rid = f"50011219900101{i + 1:03d}"
        t = Trainee(resident_id=rid + resident_id_check_digit(rid), name=name, phone="13800000009")
        session.add(t)
        session.flush()
        session.add(Enrollment(class_id=live["class_id"], trainee_id=t.id))
    session.commit()
    expected = ["李静", "林曼努", "罗斯林", "孙丽", "张伟"]
    supervisor = log_in(app, "supervisor")
    roll = supervisor.get(f"/api/lessons/{live['offline']}/roll").get_json()
    assert [row["name"] for row in roll["trainees"]] == expected
    listed = supervisor.get(f"/api/classes/{live['class_id']}/enrollments").get_json()
    assert [row["trainee"]["name"] for row in listed] == expected
