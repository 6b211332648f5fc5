"""Settings from the environment, with defaults that make the demo run on a bare machine.

DATABASE_URL   SQLAlchemy URL; default: SQLite file in the data dir
REDIS_URL      Socket.IO message queue (and later the scheduler lock); default: none
SECRET_KEY     signs sessions; default: a random key created once and kept in the data dir
HOURPROOF_DATA_DIR  where the SQLite file, the secret key and evidence files live; default ./var
HOURPROOF_EXPORT_KEEP_DAYS  days a finished export's bundle stays downloadable; default 7
HOURPROOF_RETENTION_PURGE   1: the daily retention duty also deletes evidence photos past their
                    keeping period (default: it only reports; `hourproof retention --purge` by hand)
HOURPROOF_MATCH_THRESHOLD   face distance below which a check-in's face is accepted; default
                    RecognitionSettings.match_threshold (`hourproof faces calibrate` measures it)
HOURPROOF_REVIEW_THRESHOLD  face distance from which it is refused (between the two: review);
                    default RecognitionSettings.review_threshold
HOURPROOF_CLIENT_DATUMS     map datums a check-in's fix may be labelled with, comma-separated;
                    default wgs84 (what a browser reports); see LocationSettings
HOURPROOF_MAX_FIX_AGE_S, HOURPROOF_FIX_CLOCK_SKEW_S, HOURPROOF_MIN_FIX_ACCURACY_M,
HOURPROOF_SAME_ACCURACY_RUN, HOURPROOF_MAX_FENCE_EXTENT_M, HOURPROOF_FENCE_MARGIN_M
                    the location checks' limits: LocationSettings below
HOURPROOF_MEDIA_MAX_MB, HOURPROOF_MEDIA_ORIGINS, HOURPROOF_MEDIA_ACCEL_PREFIX
                    online lesson videos: upload limit, allow-listed media servers, nginx
                    X-Accel-Redirect location; MediaSettings below
HOURPROOF_MAP_TILES, HOURPROOF_MAP_DATUM, HOURPROOF_MAP_SUBDOMAINS, HOURPROOF_MAP_LABELS,
HOURPROOF_MAP_ATTRIBUTION, HOURPROOF_MAP_MAX_ZOOM
                    the tile server the staff pages draw fences and fixes on; MapSettings below
HOURPROOF_DATA_KEYS_FILE  the deployment keys that seal face templates and photos at rest
                    (server/adapters/sealing.py); default: <data dir>/keys/data-keys, made on
                    first start. Production keeps it outside the data dir and its backups (a
                    mounted secret): a copy of the database and evidence without it shows no face
HOURPROOF_ACCEPT_UNSEALED  1: read face data written before sealing existed (after an upgrade,
                    until `hourproof keys rotate` has sealed it); default: refused
HOURPROOF_PUBLIC_URL the address trainees reach the app at, e.g. https://xuexi.example.cn (the
                    activation slips' QR code is its /m/ page); default: the address of the request
"""
from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recognition import RecognitionSettings


def _data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("HOURPROOF_DATA_DIR") or Path.cwd() / "var").resolve()


def _secret_key(data_dir: Path, env: dict[str, str]) -> str:
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    # Keep a generated key so sessions survive a restart of the demo; production sets SECRET_KEY.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    extra: dict[str, Any] = field(default_factory=dict)
    #: A signed bundle can always be exported again, so the downloadable copy is not kept forever
    #: (the seal of a subsidy export, its figures and its bundle's SHA-256, is kept regardless).
    export_keep_days: int = 7
    #: Purging evidence photos is irreversible: opt-in, never on by default.
    retention_purge: bool = False
    #: Database connections kept open per engine (each web process has two engines and the group
    #: commit's writer uses one of them), and how many more may open for a burst. Connections beyond
    #: the kept ones are closed when returned, so a kept number below the requests in flight makes
    #: every burst open new ones: cheap on SQLite, a new server process each on PostgreSQL.
    db_pool_size: int = 10
    db_max_overflow: int = 10
    #: The deployment keys that seal biometric data (None: <data dir>/keys/data-keys)
    data_keys_file: Path | None = None
    accept_unsealed: bool = False

    @property
    def keys_file(self) -> Path:
        return self.data_keys_file or self.data_dir / "keys" / "data-keys"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(overrides.pop("data_dir", None) or _data_dir(env))
        database_url = overrides.pop("database_url", None) or env.get("DATABASE_URL") or (
            f"sqlite:///{data_dir / 'hourproof.sqlite3'}"
        )
        # Heroku-style URLs name the old driver; we ship psycopg 3.
        if database_url.startswith(("postgres://", "postgresql://")):
            database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
        redis_url = overrides.pop("redis_url", None) or env.get("REDIS_URL") or None
        secret_key = overrides.pop("secret_key", None) or _secret_key(data_dir, env)
        keep_days = _whole(overrides.pop("export_keep_days", None) or None, env, "HOURPROOF_EXPORT_KEEP_DAYS", 7, minimum=1)
        purge = overrides.pop("retention_purge", None)
        if purge is None:
            purge = (env.get("HOURPROOF_RETENTION_PURGE") or "").strip().lower() in ("1", "true", "yes", "on")
        pool_size = _whole(overrides.pop("db_pool_size", None), env, "HOURPROOF_DB_POOL_SIZE", 10, minimum=1)
        max_overflow = _whole(overrides.pop("db_max_overflow", None), env, "HOURPROOF_DB_MAX_OVERFLOW", 10, minimum=0)
        keys_file = overrides.pop("data_keys_file", None) or env.get("HOURPROOF_DATA_KEYS_FILE") or None
        unsealed = overrides.pop("accept_unsealed", None)
        if unsealed is None:
            unsealed = (env.get("HOURPROOF_ACCEPT_UNSEALED") or "").strip().lower() in ("1", "true", "yes", "on")
        return cls(data_dir, database_url, redis_url, secret_key, overrides, export_keep_days=keep_days,
                   retention_purge=bool(purge), db_pool_size=pool_size, db_max_overflow=max_overflow,
                   data_keys_file=Path(keys_file) if keys_file else None, accept_unsealed=bool(unsealed))


def _whole(override: Any, env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = override if override is not None else (env.get(name) or "").strip() or default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class LocationSettings:
    """What the server trusts of a check-in's location, and how large a venue's fence may be.

    - client_datums: the datum labels a fix may carry. A browser's Geolocation API reports
      WGS-84 only, so by default a fix labelled anything else is refused; a deployment whose
      own app converts (and says so) adds gcj02 / bd09. wgs84 is always in it.
    - max_fix_age_s: the phone takes its fix just before asking for the challenge, which must be
      answered within its time to live (RecognitionSettings.challenge_ttl_seconds, 90 s today,
      "2 minutes" at most in the README); 150 s is 2 minutes plus half a minute for the fix and
      the upload. An older fix is refused (a saved position may be from anywhere).
    - fix_clock_skew_s: a fix time ahead of the server's clock by more than this is a phone
      clock set by hand: refused (automatic time is within a second or two).
    - min_fix_accuracy_m, same_accuracy_run: implausible accuracy is flagged for review
      (policies.geofence.SignalSettings says why 3 m and 3 fixes).
    - max_fence_extent_m, fence_margin_m: the fence bounds (policies.geofence.FenceLimits).
    """

    client_datums: tuple[str, ...] = ("wgs84",)
    max_fix_age_s: float = 150.0
    fix_clock_skew_s: float = 30.0
    min_fix_accuracy_m: float = 3.0
    same_accuracy_run: int = 3
    max_fence_extent_m: float = 300.0
    fence_margin_m: float = 50.0


DATUMS = ("wgs84", "gcj02", "bd09")


def location_settings(env: Mapping[str, str] | None = None) -> LocationSettings:
    """The deployment's location settings from the environment (defaults: LocationSettings)."""
    env = os.environ if env is None else env
    d = LocationSettings()
    raw = (env.get("HOURPROOF_CLIENT_DATUMS") or "").strip()
    datums = d.client_datums
    if raw:
        datums = tuple(dict.fromkeys(x.strip().lower() for x in raw.split(",") if x.strip()))
        unknown = [x for x in datums if x not in DATUMS]
        if unknown:
            raise ValueError(f"HOURPROOF_CLIENT_DATUMS: unknown datum(s) {', '.join(unknown)}: expected {', '.join(DATUMS)}")
        if "wgs84" not in datums:
            raise ValueError("HOURPROOF_CLIENT_DATUMS must include wgs84: that is what every browser reports")
    return LocationSettings(
        client_datums=datums,
        max_fix_age_s=_positive(env, "HOURPROOF_MAX_FIX_AGE_S", d.max_fix_age_s),
        fix_clock_skew_s=_positive(env, "HOURPROOF_FIX_CLOCK_SKEW_S", d.fix_clock_skew_s),
        min_fix_accuracy_m=_positive(env, "HOURPROOF_MIN_FIX_ACCURACY_M", d.min_fix_accuracy_m),
        same_accuracy_run=_whole(None, dict(env), "HOURPROOF_SAME_ACCURACY_RUN", d.same_accuracy_run, minimum=2),
        max_fence_extent_m=_positive(env, "HOURPROOF_MAX_FENCE_EXTENT_M", d.max_fence_extent_m),
        fence_margin_m=_positive(env, "HOURPROOF_FENCE_MARGIN_M", d.fence_margin_m),
    )


@dataclass(frozen=True)
class MediaSettings:
    """An online lesson's video: how large an upload may be, where a linked one may come from, and
    how the bytes are sent.

    - max_bytes: the largest upload (HOURPROOF_MEDIA_MAX_MB, default 2048 MB: a 90-minute lecture
      at 720p and ~2.5 Mbit/s is about 1.7 GB).
    - origins: the institution's own media servers a lesson may link to (HOURPROOF_MEDIA_ORIGINS,
      comma-separated "https://host[:port]"); none by default, so only uploads play. An origin is
      allow-listed because the page plays whatever the link names: a link anywhere could play
      anything while the minutes count.
    - accel_prefix: behind nginx (docker/nginx.conf), the app only authorises and answers with
      X-Accel-Redirect to this internal location, so the bytes never pass through a Python
      worker (HOURPROOF_MEDIA_ACCEL_PREFIX, e.g. "/_media/"); unset, the app sends the file
      itself with range requests (development, tests).
    """

    max_bytes: int = 2048 * 1024 * 1024
    origins: tuple[str, ...] = ()
    accel_prefix: str | None = None


#: https, or plain http on this machine only (a media server beside the app in development and
#: in the tests: nothing crosses a network unencrypted).
_ORIGIN = re.compile(r"https://[a-z0-9.-]+(?::[0-9]{1,5})?|http://(?:127\.0\.0\.1|localhost)(?::[0-9]{1,5})?")


def media_settings(env: Mapping[str, str] | None = None) -> MediaSettings:
    """The deployment's media settings from the environment (defaults: MediaSettings)."""
    env = os.environ if env is None else env
    megabytes = _whole(None, dict(env), "HOURPROOF_MEDIA_MAX_MB", 2048, minimum=1)
    origins: list[str] = []
    for raw in (env.get("HOURPROOF_MEDIA_ORIGINS") or "").split(","):
        origin = raw.strip().lower().rstrip("/")
        if not origin:
            continue
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"HOURPROOF_MEDIA_ORIGINS: {raw.strip()!r} is not an https origin (https://host[:port]; "
                             "http only for 127.0.0.1 or localhost)")
        origins.append(origin)
    prefix = (env.get("HOURPROOF_MEDIA_ACCEL_PREFIX") or "").strip() or None
    if prefix is not None and not (prefix.startswith("/") and prefix.endswith("/")):
        raise ValueError(f"HOURPROOF_MEDIA_ACCEL_PREFIX must start and end with '/', got {prefix!r}")
    return MediaSettings(max_bytes=megabytes * 1024 * 1024, origins=tuple(dict.fromkeys(origins)), accel_prefix=prefix)



@dataclass(frozen=True)
class MapSettings:
    """The map the staff pages draw fences, fixes and venues on (tiles: HOURPROOF_MAP_TILES); unset,
    they keep the plain plan drawing and load nothing from anywhere else.

    - tiles: an XYZ URL template, "https://host/{z}/{x}/{y}.png" ({-y} for a TMS server, {s} for a
      subdomain from `subdomains`). Its origins go into the staff pages' CSP img-src, so nothing
      else can be loaded.
    - datum: what the tiles are drawn in, and so what every point is converted to before it is
      drawn. AMap (高德) and Tencent (腾讯) tiles are GCJ-02, offset by several hundred metres from
      WGS-84 as Chinese law requires of published maps; Tianditu (天地图) is CGCS2000, WGS-84 to
      centimetres; an internal tile server is what it was rendered from. Never guessed: a wrong
      datum draws a trainee half a kilometre from where the server placed them.
    - labels: a second template drawn over the first (Tianditu serves place names apart: cva_w
      over vec_w); same origins rules.
    - attribution: the tile provider's notice, plain text.
    """

    tiles: str | None = None
    datum: str = "wgs84"
    subdomains: tuple[str, ...] = ()
    labels: str | None = None
    attribution: str = ""
    max_zoom: int = 18

    @property
    def origins(self) -> tuple[str, ...]:
        """Every origin a tile may come from ({s} expanded), for the CSP."""
        out: list[str] = []
        for template in (self.tiles, self.labels):
            if template:
                host = _template_origin(template)
                out += [host.replace("{s}", s) for s in self.subdomains] if "{s}" in host else [host]
        return tuple(dict.fromkeys(out))

    def page_config(self) -> dict[str, Any] | None:
        """What a page's map script needs (None: no map)."""
        if not self.tiles:
            return None
        return {"tiles": self.tiles, "labels": self.labels, "datum": self.datum, "subdomains": list(self.subdomains),
                "attribution": self.attribution, "max_zoom": self.max_zoom}


#: Tile hosts whose datum is known: a deployment naming the other one is refused at start-up.
_KNOWN_TILE_DATUMS = {"autonavi.com": "gcj02", "amap.com": "gcj02", "gtimg.com": "gcj02", "map.qq.com": "gcj02",
                      "tianditu.gov.cn": "wgs84"}
#: Baidu's tiles are BD-09 in a projection of Baidu's own, not Web Mercator XYZ: not drawable here.
_TILE_DATUMS = ("wgs84", "gcj02")


def _template_origin(template: str) -> str:
    scheme, _, rest = template.partition("://")
    return (scheme + "://" + rest.split("/", 1)[0].split("?", 1)[0]).lower()


def _host_is(origin: str, domain: str) -> bool:
    host = origin.split("://", 1)[1].split(":", 1)[0]
    return host == domain or host.endswith("." + domain)


def map_settings(env: Mapping[str, str] | None = None) -> MapSettings:
    """The deployment's map settings from the environment (default: no map)."""
    env = os.environ if env is None else env
    tiles = (env.get("HOURPROOF_MAP_TILES") or "").strip() or None
    if tiles is None:
        return MapSettings()
    datum = (env.get("HOURPROOF_MAP_DATUM") or "").strip().lower()
    if datum not in _TILE_DATUMS:
        raise ValueError(f"HOURPROOF_MAP_DATUM must be wgs84 or gcj02 (the datum of the tiles: AMap and Tencent are gcj02, "
                         f"Tianditu wgs84), got {datum or 'nothing'!r}")
    subdomains = tuple(x.strip().lower() for x in (env.get("HOURPROOF_MAP_SUBDOMAINS") or "").split(",") if x.strip())
    if any(not re.fullmatch(r"[a-z0-9-]+", s) for s in subdomains):
        raise ValueError(f"HOURPROOF_MAP_SUBDOMAINS: comma-separated host labels (e.g. 1,2,3,4), got {','.join(subdomains)!r}")
    labels = (env.get("HOURPROOF_MAP_LABELS") or "").strip() or None
    for name, template in (("HOURPROOF_MAP_TILES", tiles), ("HOURPROOF_MAP_LABELS", labels)):
        if template is None:
            continue
        if not all(p in template for p in ("{z}", "{x}")) or not ("{y}" in template or "{-y}" in template):
            raise ValueError(f"{name} must be a tile URL template with {{z}}, {{x}} and {{y}} (or {{-y}}), got {template!r}")
        host = _template_origin(template)
        if "{s}" in host and not subdomains:
            raise ValueError(f"{name} has {{s}} in its host: set HOURPROOF_MAP_SUBDOMAINS (e.g. 1,2,3,4)")
        for origin in ([host.replace("{s}", s) for s in subdomains] if "{s}" in host else [host]):
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{name}: {origin!r} is not an https origin (http only for 127.0.0.1 or localhost)")
            known = next((d for h, d in _KNOWN_TILE_DATUMS.items() if _host_is(origin, h)), None)
            if known is not None and known != datum:
                raise ValueError(f"HOURPROOF_MAP_DATUM is {datum}, but the tiles of {origin} are {known}")
    return MapSettings(tiles=tiles, datum=datum, subdomains=subdomains, labels=labels,
                       attribution=(env.get("HOURPROOF_MAP_ATTRIBUTION") or "").strip(),
                       max_zoom=min(_whole(None, dict(env), "HOURPROOF_MAP_MAX_ZOOM", 18, minimum=1), 22))

def _positive(env: Mapping[str, str], name: str, default: float, must: str = "a number > 0") -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be {must}, got {raw!r}")
    return value


def challenge_limit(env: Mapping[str, str] | None = None) -> int | None:
    """HOURPROOF_CHALLENGES_PER_MINUTE: liveness challenges one trainee may ask for in one lesson
    within a minute (unset: the service's default, 3). Only a load test of one shared trainee
    needs more."""
    env = os.environ if env is None else env
    raw = (env.get("HOURPROOF_CHALLENGES_PER_MINUTE") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"HOURPROOF_CHALLENGES_PER_MINUTE must be a whole number >= 1, got {raw!r}")
    return int(raw)


def recognition_settings(env: Mapping[str, str] | None = None) -> RecognitionSettings:
    """The face pipeline's settings with this deployment's thresholds: a population other than
    the one the defaults were calibrated on needs its own (`hourproof faces calibrate`)."""
    import dataclasses

    from recognition import RecognitionSettings

    env = os.environ if env is None else env
    defaults = RecognitionSettings()
    match = _distance(env, "HOURPROOF_MATCH_THRESHOLD", defaults.match_threshold)
    review = _distance(env, "HOURPROOF_REVIEW_THRESHOLD", defaults.review_threshold)
    if review < match:
        # identity.decide() accepts first, so a lower refuse threshold would be silently ignored.
        raise ValueError(f"HOURPROOF_REVIEW_THRESHOLD ({review}) must be at least HOURPROOF_MATCH_THRESHOLD ({match})")
    return dataclasses.replace(defaults, match_threshold=match, review_threshold=review)


def _distance(env: Mapping[str, str], name: str, default: float) -> float:
    return _positive(env, name, default, must="a face distance > 0 (e.g. 0.38)")


def public_url(env: Mapping[str, str] | None = None) -> str | None:
    """HOURPROOF_PUBLIC_URL without its trailing slash, or None (then the request's own address)."""
    env = os.environ if env is None else env
    url = (env.get("HOURPROOF_PUBLIC_URL") or "").strip().rstrip("/")
    if url and not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise ValueError(f"HOURPROOF_PUBLIC_URL must be an http(s) address such as https://xuexi.example.cn, got {url!r}")
    return url or None
