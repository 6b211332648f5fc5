"""Alembic migrations run both ways on each backend."""
from sqlalchemy import inspect

from server.database import migrate as dbmigrate
from server.extensions import make_engine


def test_migrations_downgrade_to_nothing_and_upgrade_back_to_head(migrated_url):
    engine = make_engine(migrated_url)
    try:
        head = dbmigrate.current(engine)
        dbmigrate.downgrade(engine, "base")
        assert dbmigrate.current(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        dbmigrate.upgrade(engine)
        assert dbmigrate.current(engine) == head
        assert {"lessons", "enrollments", "users", "venues"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
