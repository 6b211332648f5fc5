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
"""
from __future__ import annotations

import math
import os
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
        return cls(data_dir, database_url, redis_url, secret_key, overrides, export_keep_days=keep_days,
                   retention_purge=bool(purge), db_pool_size=pool_size, db_max_overflow=max_overflow)


def _whole(override: Any, env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = override if override is not None else (env.get(name) or "").strip() or default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


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
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a face distance > 0 (e.g. 0.38), got {raw!r}")
    return value
