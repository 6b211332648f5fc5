"""Settings come from the environment with defaults that run on a bare machine."""
from server.config import Settings


def test_without_settings_the_database_is_a_sqlite_file_in_the_data_dir(tmp_path):
    s = Settings.from_env({"HOURPROOF_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'hourproof.sqlite3'}"
    assert s.redis_url is None


def test_a_generated_secret_key_is_kept_so_sessions_survive_a_restart(tmp_path):
    first = Settings.from_env({"HOURPROOF_DATA_DIR": str(tmp_path)}).secret_key
    second = Settings.from_env({"HOURPROOF_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_plain_postgres_url_is_given_the_psycopg3_driver(tmp_path):
    s = Settings.from_env({"HOURPROOF_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@h/db", "SECRET_KEY": "k"})
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.secret_key == "k"


def test_the_export_keeping_period_defaults_to_a_week_and_must_be_a_whole_number_of_at_least_one_day(tmp_path):
    import pytest

    base = {"HOURPROOF_DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}
    assert Settings.from_env(base).export_keep_days == 7
    assert Settings.from_env(base | {"HOURPROOF_EXPORT_KEEP_DAYS": "30"}).export_keep_days == 30
    with pytest.raises(ValueError, match="HOURPROOF_EXPORT_KEEP_DAYS must be at least 1, got 0"):
        Settings.from_env(base | {"HOURPROOF_EXPORT_KEEP_DAYS": "0"})
    with pytest.raises(ValueError, match="HOURPROOF_EXPORT_KEEP_DAYS must be a whole number, got 'a week'"):
        Settings.from_env(base | {"HOURPROOF_EXPORT_KEEP_DAYS": "a week"})


def test_a_fix_is_wgs84_only_unless_the_deployment_accepts_more_datums():
    import pytest

    from server.config import location_settings

    assert location_settings({}).client_datums == ("wgs84",)
    assert location_settings({}).max_fix_age_s == 150 and location_settings({}).max_fence_extent_m == 300
    accepted = location_settings({"HOURPROOF_CLIENT_DATUMS": " WGS84, gcj02 ", "HOURPROOF_MAX_FIX_AGE_S": "60"})
    assert accepted.client_datums == ("wgs84", "gcj02") and accepted.max_fix_age_s == 60
    with pytest.raises(ValueError, match="must include wgs84"):
        location_settings({"HOURPROOF_CLIENT_DATUMS": "gcj02"})
    with pytest.raises(ValueError, match="unknown datum"):
        location_settings({"HOURPROOF_CLIENT_DATUMS": "wgs84,mars"})
    with pytest.raises(ValueError, match="HOURPROOF_MAX_FENCE_EXTENT_M must be a number > 0"):
        location_settings({"HOURPROOF_MAX_FENCE_EXTENT_M": "-1"})


def test_lesson_media_may_come_only_from_https_origins_or_this_machine_and_uploads_have_a_size_limit():
    import pytest

    from server.config import media_settings

    s = media_settings({"HOURPROOF_MEDIA_ORIGINS": "https://Media.School.cn/, http://127.0.0.1:8081",
                        "HOURPROOF_MEDIA_MAX_MB": "500", "HOURPROOF_MEDIA_ACCEL_PREFIX": "/_media/"})
    assert s.origins == ("https://media.school.cn", "http://127.0.0.1:8081")
    assert s.max_bytes == 500 * 1024 * 1024 and s.accel_prefix == "/_media/"
    assert media_settings({}).origins == () and media_settings({}).accel_prefix is None
    for bad in ("http://media.school.cn", "ftp://media.school.cn", "https://media.school.cn/videos"):
        with pytest.raises(ValueError, match="HOURPROOF_MEDIA_ORIGINS"):
            media_settings({"HOURPROOF_MEDIA_ORIGINS": bad})
    with pytest.raises(ValueError, match="HOURPROOF_MEDIA_ACCEL_PREFIX"):
        media_settings({"HOURPROOF_MEDIA_ACCEL_PREFIX": "_media"})
    with pytest.raises(ValueError, match="HOURPROOF_MEDIA_MAX_MB"):
        media_settings({"HOURPROOF_MEDIA_MAX_MB": "0"})
