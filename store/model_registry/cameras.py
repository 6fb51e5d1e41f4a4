"""The cameras a registry move may name, with the keys of `models` each runs (its `model` and
`extra_models`), as the workers see them: the configuration file's cameras with the database's
edits, plus cameras added through the API. A camera row the workers no longer run is still named
(an old scope may hold it) and runs no slot."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.config import Settings
from streetwarden.store.camera_settings import load_camera_configs
from streetwarden.store.schema import Camera


def camera_models(s: Session, settings: Settings) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = dict.fromkeys(s.scalars(select(Camera.id)).all(), ())
    out.update({c.id: tuple(c.model_keys) for c in settings.cameras})
    out.update({k: tuple(c.model_keys) for k, c in load_camera_configs(s, settings).items()})
    return out
