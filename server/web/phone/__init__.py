"""The phone check-in app for trainees (zh-CN, mobile first): log in or activate, today's
lessons, 签到 / 签退 with camera + liveness prompts + location, the result and what to do next,
and 我的学时 (the hour ledger).

One page, served at /m/; a small vanilla script (server/web/phone/static/app.js) draws every
view from the JSON API, so scoping, validation and every decision stay in the API. Nothing is
loaded from another origin (CSP 'self'), the assets are a few tens of KB, so the page opens
quickly on a slow mobile network and inside WeChat's built-in browser."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request
from flask import session as cookie

STATIC = Path(__file__).resolve().parent / "static"



class _PhoneBlueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int:
        # Kept a day by the phone: a repeat visit on a slow network loads only the page itself.
        # The page (never cached) names the script and style with their content hash, so a new
        # version is fetched at once.
        return 24 * 3600

    def send_static_file(self, filename: str):
        # The script and the style sheet go gzip-compressed to a browser that takes it (every
        # phone browser does): a third of their size on a slow mobile network. Behind nginx it
        # would compress them too; compressing here keeps the development server and the tests
        # honest about what a phone downloads.
        resp = super().send_static_file(filename)
        if (resp.status_code == 200 and filename.endswith((".js", ".css"))
                and "gzip" in (request.headers.get("Accept-Encoding") or "")):
            body = _gzipped(filename, (STATIC / filename).stat().st_mtime_ns)
            original = resp.response  # the file send_static_file opened: closed, not left to the collector
            resp.direct_passthrough = False
            resp.set_data(body)
            close = getattr(original, "close", None)
            if close is not None:
                close()
            resp.headers["Content-Encoding"] = "gzip"
            resp.headers["Content-Length"] = str(len(body))
            resp.vary.add("Accept-Encoding")
            tag, _weak = resp.get_etag()
            if tag:
                resp.set_etag(tag + "-gzip")  # another representation, another tag
        return resp


@lru_cache(maxsize=8)
def _gzipped(filename: str, mtime_ns: int) -> bytes:
    """The static file compressed once per version (`mtime_ns` keys the cache)."""
    import gzip

    return gzip.compress((STATIC / filename).read_bytes(), compresslevel=9, mtime=0)


bp = _PhoneBlueprint("phone", __name__, url_prefix="/m", static_folder=str(STATIC), static_url_path="/static",
                      template_folder="templates")


@lru_cache(maxsize=1)
def asset_version() -> str:
    digest = hashlib.sha256()
    for name in ("app.js", "phone.css"):
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:12]

#: Camera and location come from this page only; blob: for the captured frames, mediastream: for
#: the preview; nothing from another origin but a lesson video from the deployment's allow-listed
#: media servers (MediaSettings.origins: played, and its HLS segments fetched).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob: mediastream:{media}; connect-src 'self'{media}; manifest-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
#: The browser may use camera and location on this page, and only from this origin.
PERMISSIONS = "camera=(self), geolocation=(self), microphone=()"


@bp.after_request
def _headers(resp):
    settings = current_app.config.get("MEDIA_SETTINGS")
    media = "".join(" " + o for o in settings.origins) if settings is not None else ""
    resp.headers.setdefault("Content-Security-Policy", CSP.format(media=media))
    resp.headers.setdefault("Permissions-Policy", PERMISSIONS)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"  # the page carries the session's CSRF token
    return resp


@bp.get("")
def to_app():
    return redirect("/m/")


@bp.get("/")
def app_page():
    return render_template("phone/app.html", csrf_token=cookie.get("csrf", ""), version=asset_version())


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "name": "hourproof 学时核验 · 学员签到",
        "short_name": "学员签到",
        "description": "职业技能培训学员签到、签退与学时查询",
        "lang": "zh-CN",
        "start_url": "/m/",
        "scope": "/m/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#17324f",
        "icons": [
            {"src": "/m/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/m/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/m/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    resp = current_app.json.response(body)
    resp.mimetype = "application/manifest+json"
    return resp
