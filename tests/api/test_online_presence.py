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
