"""Bodies of the camera and zone routes. Zones are validated by the same model as the config file."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streetwarden.api.values import MAX_ID
from streetwarden.config import MAX_POLYGON_POINTS, MAX_ZONES_PER_CAMERA, MaskPolygons, ZoneConfig, check_masks


class ZoneOut(ZoneConfig):
    """A zone as stored, with what it watches."""

    violation_type: str = Field(description="The violation this zone's kind is watched for.")
    effective_dwell_seconds: float = Field(description="dwell_seconds, or the kind's default when unset.")


class CameraHealth(BaseModel):
    """How the camera's stream is doing in this server's worker."""

    state: str = Field(description="starting, online, reconnecting, offline, error or ended.")
    reason: str | None = Field(description="Why (passwords masked).")
    frames_analysed: int = Field(description="Frames analysed since start.")
    reconnects: int = Field(description="Reconnections since start.")
    last_frame_at: datetime | None = Field(default=None, description="When the last frame arrived (UTC); null before the first.")
    lag_seconds: float | None = Field(default=None, description="Capture to analysis delay of the last live frame, seconds.")


class CameraOut(BaseModel):
    """A camera with its zones."""

    id: str = Field(description="Camera id.")
    name: str | None = Field(description="Display name.")
    address: str | None = Field(description="Street address of the view.")
    latitude: float | None = Field(description="WGS-84 latitude.")
    longitude: float | None = Field(description="WGS-84 longitude.")
    enabled: bool = Field(description="Whether the workers run it.")
    analysis_fps: float = Field(description="Frames analysed per second.")
    source: str = Field(description="Where frames come from, passwords replaced by ***.")
    zones_version: int = Field(description="Bumped on every zone or mask change; pass as expected_version when saving.")
    zones: list[ZoneOut] = Field(description="Watched zones.")
    masks: MaskPolygons = Field(default_factory=list, description="Masks: polygons (frame fractions) where nothing is analysed.")
    snapshot_url: str = Field(description="Latest analysed frame (JPEG, authenticated).")
    health: CameraHealth | None = Field(description="Stream health, when this server runs the camera.")
    owner: str | None = Field(default=None, description="Worker node holding the camera's lease now (None: not running anywhere).")


class ZonesIn(BaseModel):
    """The complete set of zones of a camera (the editor saves all at once)."""

    model_config = ConfigDict(extra="forbid")
    zones: list[ZoneConfig] = Field(max_length=MAX_ZONES_PER_CAMERA, description=f"Every zone of the camera (at "
                                    f"most {MAX_ZONES_PER_CAMERA}); zones not listed are deleted.")
    expected_version: int | None = Field(default=None, ge=0, le=MAX_ID, description="The zones_version the editor started "
                                         "from; when given and the stored version moved on, the save is refused (409) "
                                         "instead of overwriting someone else's change.")
    masks: MaskPolygons | None = Field(default=None, max_length=MAX_ZONES_PER_CAMERA, description="When given, "
                                            "the camera's masks are replaced too, in the same change (null: kept).")

    _v_masks = field_validator("masks")(lambda cls, v: v if v is None else check_masks(v))


MASKS_DESCRIPTION = (f"Every mask of the camera (at most {MAX_ZONES_PER_CAMERA}), each a polygon of 3 to "
                     f"{MAX_POLYGON_POINTS} [x, y] corners in fractions (0-1) of frame width and height; masks not "
                     "listed are deleted.")


class MasksIn(BaseModel):
    """The complete set of masks of a camera (nothing inside one is analysed)."""

    model_config = ConfigDict(extra="forbid")
    masks: MaskPolygons = Field(max_length=MAX_ZONES_PER_CAMERA, description=MASKS_DESCRIPTION)
    expected_version: int | None = Field(default=None, ge=0, le=MAX_ID, description="The zones_version the editor "
                                         "started from (masks and zones share it); a moved version is refused (409).")

    _v_masks = field_validator("masks")(lambda cls, v: check_masks(v))


class MasksOut(BaseModel):
    """A camera's masks as stored."""

    camera: str = Field(description="Camera id.")
    zones_version: int = Field(description="Version of the camera's zones and masks.")
    masks: MaskPolygons = Field(description="Mask polygons (frame fractions).")


class MaskSuggestionsOut(BaseModel):
    """Proposed masks (never stored by this call): changing overlay text found in the stream."""

    camera: str = Field(description="Camera id.")
    masks: MaskPolygons = Field(description="Proposed mask polygons (frame fractions), one per overlay text line.")
    seconds: float = Field(description="Seconds of the stream that were read.")
    frames: int = Field(description="Frames analysed.")
    source: str = Field(description="Where the frames came from: `stream` (the camera's source, read for this request).")
