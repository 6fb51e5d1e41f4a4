"""Mask suggestions for the zone editor: the camera's source is read here, for a bounded time, by
the API process (it has the configuration with the camera's credentials, which workers on other
nodes may not share with it); one read per camera at a time. Nothing is stored."""

from __future__ import annotations

import threading

from streetwarden.api.cameras.models import MaskSuggestionsOut
from streetwarden.api.errors import ApiError
from streetwarden.camera_adapters import SourceError
from streetwarden.pipeline.mask_suggest import suggest_for_camera
from streetwarden.store.camera_settings import load_camera_configs
from streetwarden.config import ConfigError, Settings
from streetwarden.redact import mask_all

_reading: set[str] = set()
_lock = threading.Lock()


def suggestions(settings: Settings, db, worker, camera_id: str, seconds: float) -> MaskSuggestionsOut:  # type: ignore[no-untyped-def]
    """Read `seconds` of the camera and propose masks over its changing overlay text.

    People and vehicles are left out with the model of this process's worker when it runs one
    (`serve`); an API-only process reads without a model (the regularity test alone)."""
    with db.session() as s:
        cam = load_camera_configs(s, settings).get(camera_id)
    if cam is None:
        raise ApiError(409, f"camera '{camera_id}' has no stored settings to read its stream from; start a worker "
                       "with its configuration once", "camera_unreadable")
    with _lock:
        if camera_id in _reading:
            raise ApiError(409, f"masks of '{camera_id}' are being suggested already; wait for that answer",
                           "suggest_running")
        _reading.add(camera_id)
    try:
        detector = (getattr(worker, "detectors", None) or {}).get(cam.model)
        found = suggest_for_camera(settings, cam, seconds, detector.detect if detector is not None else None)
    except (SourceError, ConfigError, OSError) as err:
        raise ApiError(409, f"the stream of '{camera_id}' could not be read: {mask_all(str(err))[:300]}",
                       "camera_unreadable") from None
    finally:
        with _lock:
            _reading.discard(camera_id)
    return MaskSuggestionsOut(camera=camera_id, masks=found.masks, seconds=found.seconds, frames=found.frames,
                              source="stream")
