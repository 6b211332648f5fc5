"""An online lesson's video or live stream: added by the institution, watched in the online
classroom page (services/lesson_media.py)."""
from __future__ import annotations

from flask import Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import MediaLinkIn
from server.clock import utc_now
from server.config import MediaSettings
from server.errors import ApiError
from server.extensions import db
from server.permissions import Capability
from server.services import lesson_media
from server.services.scope import Actor


def _settings() -> MediaSettings:
    return current_app.config.get("MEDIA_SETTINGS") or MediaSettings()


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/media",
          summary="Upload an online lesson's recorded video (MP4, H.264), stored by its hash",
          tag="online", capability=Capability.MANAGE_LESSON_MEDIA,
          multipart={"video": "the lesson video: MP4 with H.264 video (HOURPROOF_MEDIA_MAX_MB at most)"}, status=201,
          response=responses.UploadMediaOut)
def upload_media(actor: Actor, lesson_id: int):
    settings = _settings()
    # A video is far larger than the app's 16 MB body limit: this route alone takes up to the
    # media setting (plus the multipart envelope), streamed to a temp file by Werkzeug.
    request.max_content_length = settings.max_bytes + 1024 * 1024
    try:
        storage = request.files.get("video")
    except RequestEntityTooLarge:
        raise ApiError(413, "video_too_large", f"视频超过 {settings.max_bytes // 1024 // 1024} MB，请压缩后再上传") from None
    if storage is None:
        raise ApiError(422, "invalid_input", "请选择要上传的视频文件（表单字段 video）",
                       fields=[{"field": "video", "message": "必填"}])
    try:
        media = lesson_media.upload(db.session, actor, lesson_id, storage.stream, storage.filename or "",
                                    current_app.extensions["hourproof_media"], settings, utc_now())
    finally:
        storage.close()
    return lesson_media.media_json(media, lesson_id)


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/media/link",
          summary="Link an online lesson's video or live HLS stream on the institution's allow-listed media server",
          tag="online", capability=Capability.MANAGE_LESSON_MEDIA, body=MediaLinkIn, status=201, response=responses.LinkMediaOut)
def link_media(actor: Actor, lesson_id: int, body: MediaLinkIn):
    media = lesson_media.link(db.session, actor, lesson_id, body.kind, body.url, body.duration_s, _settings(), utc_now())
    return lesson_media.media_json(media, lesson_id)


@endpoint(bp, "GET", "/lessons/<int:lesson_id>/media", summary="An online lesson's video or live stream, to play",
          tag="online", response=responses.GetMediaOut)
def get_media(actor: Actor, lesson_id: int):
    return lesson_media.trainee_view(db.session, actor, lesson_id)


@endpoint(bp, "GET", "/lessons/<int:lesson_id>/media/file",
          summary="The uploaded video's bytes, with range requests (behind nginx: X-Accel-Redirect)", tag="online",
          produces="video/mp4", also=(206,))
def media_file(actor: Actor, lesson_id: int):
    media = lesson_media.watchable(db.session, actor, lesson_id)
    if media.sha256 is None:
        raise ApiError(404, "no_media", "本课次的视频在机构的媒体服务器上，请直接播放其地址")
    prefix = _settings().accel_prefix
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if prefix:
        # The app authorised; nginx sends the bytes (and answers the range requests) from its
        # internal location, so a video never streams through a Python worker.
        sha = media.sha256
        return Response(status=200, mimetype=media.content_type,
                        headers={**headers, "X-Accel-Redirect": f"{prefix}{sha[:2]}/{sha}"})
    path = current_app.extensions["hourproof_media"].path(media.sha256)
    return _ranged(path, media.content_type, media.sha256, headers)


def _ranged(path, mimetype: str, etag: str, headers: dict) -> Response:
    """The file, or the one byte range asked for (206; 416 for a range outside it), streamed in
    chunks. Not send_file: a player drops range requests half-way all the time, and a dropped
    response's open file was then left for the garbage collector; the generator closes its file
    however it ends."""
    size = path.stat().st_size
    start, stop, status = 0, size, 200
    rng = request.range
    extra = {"Accept-Ranges": "bytes", "ETag": f'"{etag}"'}
    if rng is not None and request.if_range.etag in (None, etag):
        found = rng.range_for_length(size)
        if found is None:
            return Response(status=416, headers={**headers, **extra, "Content-Range": f"bytes */{size}"})
        (start, stop), status = found, 206
        extra["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"

    def body(start: int = start, stop: int = stop):
        with open(path, "rb") as f:
            f.seek(start)
            left = stop - start
            while left > 0:
                chunk = f.read(min(256 * 1024, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    return Response(body(), status=status, mimetype=mimetype, direct_passthrough=True,
                    headers={**headers, **extra, "Content-Length": str(stop - start)})
