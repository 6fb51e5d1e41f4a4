"""The shop registry: imported from the config, looked up by shopfront zone, rated by recent violations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.schema import now
from streetwarden.store.shop_schema import Shop, ShopZone
from streetwarden.config import Settings, ShopRatingConfig

DAY = 86400.0


def sync_shops(s: Session, settings: Settings) -> None:
    """Make the shops table match the config (`shops` and zones that name a `shop_id`)."""
    wanted: dict[str, set[tuple[str, str]]] = {shop.id: {tuple(ref.split("/", 1)) for ref in shop.zones} for shop in settings.shops}  # type: ignore[misc]
    for cam in settings.cameras:
        for zone in cam.zones:
            if zone.shop_id:
                wanted[zone.shop_id].add((cam.id, zone.id))
    for shop in settings.shops:
        row = s.get(Shop, shop.id) or Shop(id=shop.id)
        row.name, row.address, row.contact = shop.name, shop.address, shop.contact
        s.add(row)
        have = {(z.camera_id, z.zone_id): z for z in row.zones}
        for key, z in have.items():
            if key not in wanted[shop.id]:
                row.zones.remove(z)
        s.flush()
        for cam_id, zone_id in sorted(wanted[shop.id] - set(have)):
            other = s.scalar(select(ShopZone).where(ShopZone.camera_id == cam_id, ShopZone.zone_id == zone_id))
            if other is not None:  # the zone moved to this shop
                s.delete(other)
                s.flush()
            row.zones.append(ShopZone(camera_id=cam_id, zone_id=zone_id))
    s.flush()


def shop_for_zone(s: Session, camera_id: str, zone_id: str) -> Shop | None:
    return s.scalar(select(Shop).join(ShopZone).where(ShopZone.camera_id == camera_id, ShopZone.zone_id == zone_id))


def violation_count(s: Session, shop_id: str, window_days: int, at: float | None = None) -> int:
    """Confirmed violations of a shop in the window: notices, plus cases that were not escalated from a notice."""
    since = (now() if at is None else at) - window_days * DAY
    notices = s.scalar(select(func.count(Notice.id)).where(Notice.shop_id == shop_id, Notice.issued_at >= since)) or 0
    cases = s.scalar(select(func.count(Case.id)).where(Case.shop_id == shop_id, Case.notice_id.is_(None),
                                                       Case.created_at >= since)) or 0
    return int(notices) + int(cases)


def rating(count: int, cfg: ShopRatingConfig) -> str:
    if count >= cfg.red_at:
        return "red"
    if count >= cfg.yellow_at:
        return "yellow"
    return "green"


def shop_json(s: Session, shop: Shop, cfg: ShopRatingConfig, at: float | None = None) -> dict[str, Any]:
    count = violation_count(s, shop.id, cfg.window_days, at)
    return {
        "id": shop.id, "name": shop.name, "address": shop.address, "contact": shop.contact,
        "zones": [f"{z.camera_id}/{z.zone_id}" for z in shop.zones],
        "violations": count, "window_days": cfg.window_days, "rating": rating(count, cfg),
    }


def list_shops(s: Session) -> list[Shop]:
    return list(s.scalars(select(Shop).order_by(Shop.id)).all())
