"""An online lesson's content, played inside the online classroom page (issue 18): a recorded
video the institution uploads (stored by hash, like evidence) or links from its own allow-listed
media server, or a live HLS stream. The page plays it; the heartbeats report the player's state;
policies.attendance credits a recorded lesson's content watched (media_for_credit below).

Who: the institution's staff add media (MANAGE_LESSON_MEDIA, their own classes); a trainee
enrolled in the class, and staff who may see the class, watch it."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies.attendance import Heartbeat as PolicyHeartbeat
from policies.attendance import LiveMedia, Playback, RecordedMedia
from server.adapters.filestore import EvidenceStore, TooLarge
from server.config import MediaSettings
from server.errors import ApiError
from server.models import LessonMedia, LessonMode
from server.permissions import Capability, allows
from server.services import audit
from server.services.scope import Actor, trainee_lesson, visible_lesson, writable_class

MP4 = "video/mp4"
HLS = "application/vnd.apple.mpegurl"
#: The codecs every phone browser plays in an MP4 (OpenCV's names for H.264).
H264 = ("avc1", "h264", "x264", "davc")


@dataclass(frozen=True)
class Probe:
    """What the server measured of an uploaded file, before it is accepted."""

    codec: str
    duration_s: float
    width: int
    height: int


def probe_video(path: Path) -> Probe | None:
    """The file's codec, duration and size as OpenCV reads them, or None when it is not a video
    OpenCV can decode (its first frame is decoded, not only the header read)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return None
        ok, _frame = cap.read()
        if not ok:
            return None
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        codec = fourcc.to_bytes(4, "little").decode("ascii", "replace").strip("\x00 ").lower()
        fps, frames = cap.get(cv2.CAP_PROP_FPS), cap.get(cv2.CAP_PROP_FRAME_COUNT)
        if not (fps > 0 and frames > 0):
            return None
        return Probe(codec, frames / fps, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        cap.release()


def _is_mp4(head: bytes) -> bool:
    # ISO base media file: a box whose type is "ftyp" first.
    return len(head) >= 12 and head[4:8] == b"ftyp"


def online_lesson(session: Session, actor: Actor, lesson_id: int):
    lesson, cls = visible_lesson(session, actor, lesson_id)
    writable_class(session, actor, cls.id, Capability.MANAGE_LESSON_MEDIA)
    if lesson.mode is not LessonMode.online:
        raise ApiError(409, "not_online", "只有线上课次可以添加课程视频或直播")
    return lesson, cls


def upload(session: Session, actor: Actor, lesson_id: int, stream, filename: str, store: EvidenceStore,
           settings: MediaSettings, now: datetime) -> LessonMedia:
    """Store an uploaded MP4 (H.264) as the lesson's recorded video. The file is checked before
    anything is recorded: an MP4 box first (415 otherwise), no larger than the setting (413),
    and a first frame OpenCV decodes as H.264 (415): the phone's player must be able to play it."""
    lesson, cls = online_lesson(session, actor, lesson_id)
    limit_mb = settings.max_bytes // 1024 // 1024
    with tempfile.TemporaryDirectory(prefix="hourproof-upload-") as tmp:
        # Probed from a copy first: a file that is not a playable video never enters the store.
        staged = Path(tmp) / "video.mp4"
        size = 0
        with open(staged, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > settings.max_bytes:
                    raise ApiError(413, "video_too_large", f"视频超过 {limit_mb} MB，请压缩后再上传")
                out.write(chunk)
        with open(staged, "rb") as f:
            head = f.read(12)
        if not _is_mp4(head):
            raise ApiError(415, "not_a_video", "上传的文件不是 MP4 视频，请上传 H.264 编码的 MP4 文件")
        probe = probe_video(staged)
        if probe is None:
            raise ApiError(415, "not_a_video", "视频无法解码（文件可能已损坏），请重新导出 H.264 编码的 MP4 文件后上传")
        if probe.codec not in H264:
            raise ApiError(415, "unsupported_codec",
                           f"视频编码为 {probe.codec}，手机浏览器无法播放，请转为 H.264 编码的 MP4 后上传")
        with open(staged, "rb") as f:
            try:
                digest, size = store.put_stream(f, settings.max_bytes)
            except TooLarge:  # pragma: no cover - measured above
                raise ApiError(413, "video_too_large", f"视频超过 {limit_mb} MB，请压缩后再上传") from None
    media = LessonMedia(lesson_id=lesson.id, kind="recorded", sha256=digest, url=None, content_type=MP4,
                        size_bytes=size, duration_s=round(probe.duration_s, 3), filename=_shown_name(filename),
                        added_by_id=actor.user_id, added_at=now)
    session.add(media)
    session.flush()
    audit.record(session, actor, "lesson_media.upload", "lesson", lesson.id, None,
                 {"media_id": media.id, "sha256": digest, "bytes": size, "duration_s": media.duration_s,
                  "codec": probe.codec, "size": f"{probe.width}x{probe.height}"}, institution_id=cls.institution_id)
    session.commit()
    return media


def link(session: Session, actor: Actor, lesson_id: int, kind: str, url: str, duration_s: float | None,
         settings: MediaSettings, now: datetime) -> LessonMedia:
    """Link a video (MP4 or HLS) or a live HLS stream on the institution's own media server. Its
    origin must be on the deployment's allow-list (422 otherwise); a recorded one states its
    duration (credit is content watched, so the server must know how much there is)."""
    lesson, cls = online_lesson(session, actor, lesson_id)
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    # Exactly an allowed origin (scheme, host and port): the settings only admit https, and
    # plain http on this machine.
    if parts.scheme not in ("https", "http") or origin not in settings.origins:
        allowed = "、".join(settings.origins) or "（本系统未配置任何媒体服务器，只能上传视频）"
        raise ApiError(422, "origin_not_allowed", f"视频地址不在允许的媒体服务器之内。允许的地址：{allowed}",
                       fields=[{"field": "url", "message": "不在允许的媒体服务器之内"}])
    if kind == "recorded" and duration_s is None:
        raise ApiError(422, "duration_required", "录播视频须填写时长（秒），学时按实际观看的内容计算",
                       fields=[{"field": "duration_s", "message": "录播视频须填写时长（秒）"}])
    content_type = HLS if parts.path.lower().endswith(".m3u8") or kind == "live" else MP4
    media = LessonMedia(lesson_id=lesson.id, kind=kind, sha256=None, url=url, content_type=content_type,
                        size_bytes=None, duration_s=duration_s if kind == "recorded" else None, filename=None,
                        added_by_id=actor.user_id, added_at=now)
    session.add(media)
    session.flush()
    audit.record(session, actor, "lesson_media.link", "lesson", lesson.id, None,
                 {"media_id": media.id, "kind": kind, "url": url, "duration_s": media.duration_s},
                 institution_id=cls.institution_id)
    session.commit()
    return media


def _shown_name(filename: str) -> str | None:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return name[:256] or None


def current(session: Session, lesson_id: int) -> LessonMedia | None:
    """The lesson's media: its latest row (a replaced video stays on record)."""
    return session.scalar(select(LessonMedia).where(LessonMedia.lesson_id == lesson_id)
                          .order_by(LessonMedia.id.desc()).limit(1))


def latest_media(session: Session, lesson_ids) -> dict[int, LessonMedia]:
    """Each lesson's current media, for many lessons in one query."""
    ids = list(lesson_ids)
    if not ids:
        return {}
    out: dict[int, LessonMedia] = {}
    for m in session.scalars(select(LessonMedia).where(LessonMedia.lesson_id.in_(ids)).order_by(LessonMedia.id)):
        out[m.lesson_id] = m  # the latest wins
    return out


def watchable(session: Session, actor: Actor, lesson_id: int) -> LessonMedia:
    """The media of a lesson this actor may watch: a trainee enrolled in its class, or staff who
    see the class. 404 when there is none (or the lesson is not theirs)."""
    if allows(actor.role, Capability.ATTEND_LESSONS):
        trainee_lesson(session, actor, lesson_id)
    else:
        visible_lesson(session, actor, lesson_id)
    media = current(session, lesson_id)
    if media is None:
        raise ApiError(404, "no_media", "本课次没有课程视频或直播")
    return media


def trainee_view(session: Session, actor: Actor, lesson_id: int) -> dict | None:
    """The media to play, and for a trainee's recorded video the furthest point they reached by
    playing on (from their heartbeats, as the credit rule counts it): the player lets them go
    back there on any phone, not only on the one that remembers it."""
    from policies.attendance import furthest_watched
    from server.models import Heartbeat

    media = watchable(session, actor, lesson_id)
    out = media_json(media, lesson_id)
    if out is not None and allows(actor.role, Capability.ATTEND_LESSONS) and media.kind == "recorded" and media.duration_s:
        beats = session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == lesson_id, Heartbeat.trainee_id == actor.trainee_id,
                                                        Heartbeat.playback.is_not(None)).order_by(Heartbeat.at)).all()
        out["furthest_s"] = round(furthest_watched([policy_heartbeat(h) for h in beats], float(media.duration_s)), 3)
    return out


def media_json(media: LessonMedia | None, lesson_id: int) -> dict | None:
    if media is None:
        return None
    src = f"/api/lessons/{lesson_id}/media/file" if media.sha256 else media.url
    return {"id": media.id, "kind": media.kind, "src": src, "content_type": media.content_type,
            "duration_s": media.duration_s, "size_bytes": media.size_bytes, "filename": media.filename,
            "added_at": media.added_at.isoformat()}


def media_for_credit(media: LessonMedia | None) -> RecordedMedia | LiveMedia | None:
    """What policies.attendance needs of a lesson's media: a recorded video's duration (credit is
    content watched), or that it is live (credit is time at the live edge); None for no media
    (credit is presence, as before)."""
    if media is None:
        return None
    if media.kind == "live":
        return LiveMedia()
    return RecordedMedia(duration=float(media.duration_s)) if media.duration_s else None


def policy_heartbeat(h) -> PolicyHeartbeat:
    """A stored heartbeat, with the player's state it reported, as policies.attendance takes it."""
    playback = None
    if h.playback is not None and h.position_s is not None and h.rate is not None:
        playback = Playback(position=h.position_s, state=h.playback, rate=h.rate, lag=h.live_lag_s)
    return PolicyHeartbeat(at=h.at, visible=h.visible, playback=playback)
