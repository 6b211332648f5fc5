"""The evidence column of the hour log: what an auditor looks up for one event."""
from __future__ import annotations

from server.exports.tables import evidence_refs


def test_the_evidence_column_names_the_frames_face_figures_and_fix():
    # the face part as recognition writes it (LivenessResult.evidence), frames' own distances too
    face = {"passed": True, "best_distance": 0.31, "threshold": 0.55, "frames": [{"index": 0, "distance": 0.33}]}
    refs = evidence_refs({"frames": ["a" * 64, "b" * 64], "face": face,
                          "location": {"lat": 29.62, "lon": 106.53, "accuracy_m": 12, "datum": "wgs84"}})
    assert refs.startswith("帧 " + "a" * 16 + "," + "b" * 16)
    assert "人脸距离 0.31 / 阈值 0.55" in refs and "定位 29.62,106.53 ±12m WGS-84" in refs


def test_frames_not_kept_for_want_of_consent_are_said_so_not_left_blank():
    refs = evidence_refs({"frames": [], "frames_not_kept": {"count": 14, "why": "x"}})
    assert refs == "14 帧未保存（未确认人脸信息处理同意）"
