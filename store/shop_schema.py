"""Registered shops and the shopfront zones in front of them (out-of-shop trading is addressed to the shop)."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from streetwarden.store.schema import Base, now


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    contact: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)

    zones: Mapped[list["ShopZone"]] = relationship(back_populates="shop", cascade="all, delete-orphan", order_by="ShopZone.id")


class ShopZone(Base):
    """A shopfront zone (camera + zone id) that lies in front of a shop; a zone belongs to one shop."""

    __tablename__ = "shop_zones"
    __table_args__ = (UniqueConstraint("camera_id", "zone_id", name="uq_shop_zone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    zone_id: Mapped[str] = mapped_column(String(64))

    shop: Mapped[Shop] = relationship(back_populates="zones")
