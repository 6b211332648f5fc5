"""Declarative base and the column types every model shares.

Why custom types: SQLite stores neither time zones nor decimals, and the rules say times are
timezone-aware (stored UTC) and money is Decimal. These types make both true on SQLite and
PostgreSQL alike, so the same tests run on both."""
from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Enum, LargeBinary, MetaData, Numeric, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware in Python, UTC in the database. A naive datetime is refused: it has no
    meaning for evidence (whose clock?)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: times must be timezone-aware")
        value = value.astimezone(UTC)
        # SQLite keeps the text; store it without offset so ordering stays lexical.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """Decimal yuan with 2 places: NUMERIC(14,2) on PostgreSQL, exact text on SQLite (whose
    NUMERIC is a float and would round money)."""

    impl = String(24)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(24))
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        value = value.quantize(Decimal("0.01"))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """Store an enum by value as VARCHAR + CHECK (not a native PG enum: adding a value later
    would need a special migration)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in cls),
        values_callable=lambda e: [m.value for m in e],
    )



class SealedBytes(TypeDecorator):
    """Biometric bytes (a face template) sealed at rest with the deployment's key
    (server/adapters/sealing.py): the database holds only the envelope, so a dump reveals no
    face. Empty bytes stay empty: that is an erased template, and there is nothing to hide."""

    impl = LargeBinary
    cache_ok = True
    #: The associated data every sealed template is bound to (a photo's envelope will not open here)
    KIND = b"template"

    def process_bind_param(self, value: bytes | None, dialect):
        if not value:
            return value
        from server.adapters import sealing

        return sealing.active().seal(bytes(value), self.KIND)

    def process_result_value(self, value: bytes | None, dialect):
        if not value:
            return value if value is None else b""
        from server.adapters import sealing

        value, keyring = bytes(value), sealing.active()
        if not sealing.is_sealed(value):
            # Written before sealing existed: read only while the operator allows it (until
            # `hourproof keys rotate` has sealed it); otherwise a row written in the clear by
            # someone without the key (a swapped face) would be taken as ours.
            if keyring.accept_unsealed:
                return value
            raise sealing.SealError("a face template is not sealed (run `hourproof keys rotate`)")
        return keyring.open(value, self.KIND)
