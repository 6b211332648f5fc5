"""Where rules and supervision apply: Region (policy scope) > City > District (区县)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base


class Region(Base):
    """A policy scope: `cq`, `yn`, `js`, `zj-jinhua`; its rules live in policies/regions/."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: Display name, e.g. 重庆市
    name: Mapped[str] = mapped_column(String(64))

    cities: Mapped[list[City]] = relationship(back_populates="region")


class City(Base):
    """A city reviewer (市级复核) is scoped to one city."""

    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    #: Administrative division code (6 digits), unique nationally
    adcode: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    region: Mapped[Region] = relationship(back_populates="cities")
    districts: Mapped[list[District]] = relationship(back_populates="city")


class District(Base):
    """区县: the unit a district supervisor (区县人社) watches."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), index=True)
    adcode: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    city: Mapped[City] = relationship(back_populates="districts")

    @property
    def region_code(self) -> str:
        return self.city.region_code
