"""The configuration tree: one YAML file validated by pydantic models.

The same models validate the file, document every option (``Field(description=...)``) and produce
the error message that names the bad field, so a typo never becomes a silent default.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, ValidationError, WithJsonSchema, field_validator, model_validator

from streetwarden.camera_adapters.live import DEFAULT_READ_BATCH_SECONDS
from streetwarden.vocabulary import (DEFAULT_DWELL, DEFAULT_GRACE, DEFAULT_VIOLATION_CODES, VIOLATION_BY_ZONE_KIND,
                                     VIOLATIONS, ViolationCode, ZoneKind)

# the vocabulary as the option descriptions list it, so a new kind or violation shows up in the docs
_KINDS_WATCHED = ", ".join(f"{kind.value} ({violation})" for kind, violation in VIOLATION_BY_ZONE_KIND.items())
_DWELL_DEFAULTS = ", ".join(f"{kind.value} {seconds:g}" for kind, seconds in DEFAULT_DWELL.items())

SHARED_DIR_ENV = "STREETWARDEN_SHARED"
MODELS_DIR_ENV = "STREETWARDEN_MODELS"
MODEL_MIRROR_ENV = "STREETWARDEN_MODEL_MIRROR"


class ConfigError(ValueError):
    """A configuration problem, already phrased for the user (names the field)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


Point = tuple[float, float]
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError("must be 1-64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit")
    return value


def _http_url(value: str | None) -> str | None:
    """An http(s) URL, or None for an empty value."""
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https://, got '{value}'")
    return value or None


MAX_POLYGON_POINTS = 100
MAX_ZONES_PER_CAMERA = 100
MAX_DWELL_SECONDS = 86400.0
MAX_GRACE_SECONDS = 30 * 86400.0
MAX_EXTRA_MODELS = 3  # each one is a model call per analysed frame
_COORD = {"type": "number", "minimum": 0, "maximum": 1}


# a camera's masks, with the bounds check_masks enforces spelled out for the JSON schema (OpenAPI)
MaskPolygons = Annotated[list[list[Point]], WithJsonSchema({
    "type": "array", "maxItems": MAX_ZONES_PER_CAMERA,
    "items": {"type": "array", "minItems": 3, "maxItems": MAX_POLYGON_POINTS,
              "items": {"type": "array", "items": _COORD, "minItems": 2, "maxItems": 2}}})]


def check_masks(value: list[list[Point]]) -> list[list[Point]]:
    """Camera masks (config file and API alike): 3 to MAX_POLYGON_POINTS corners, each within 0-1."""
    if len(value) > MAX_ZONES_PER_CAMERA:
        raise ValueError(f"a camera may have at most {MAX_ZONES_PER_CAMERA} masks, got {len(value)}")
    for n, poly in enumerate(value):
        if not 3 <= len(poly) <= MAX_POLYGON_POINTS:
            raise ValueError(f"mask {n}: a polygon needs 3 to {MAX_POLYGON_POINTS} points, got {len(poly)}")
        for i, (x, y) in enumerate(poly):
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"mask {n} point {i} [{x}, {y}] is outside 0-1: coordinates are fractions of frame width/height")
    return value


class ZoneConfig(_Strict):
    """A polygon of the camera image where one violation rule applies."""

    # bounds on every number and list: a zone is stored, audited and sent with every camera read
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(description="Zone id, unique within its camera (letters, digits, '-', '_', '.').",
                    json_schema_extra={"pattern": _ID_RE.pattern})
    name: str | None = Field(default=None, max_length=200,
                             description="Human-readable name shown to reviewers (e.g. 人行道东段); at most 200 characters.")
    kind: ZoneKind = Field(description=f"Zone kind, with the violation it is watched for: {_KINDS_WATCHED}.")
    polygon: list[Point] = Field(
        description="Polygon corners as [x, y] fractions (0-1) of frame width and height, so the zone "
        f"survives a change of stream resolution. 3 to {MAX_POLYGON_POINTS} points.",
        max_length=MAX_POLYGON_POINTS,
        json_schema_extra={"minItems": 3, "items": {"type": "array", "prefixItems": [_COORD, _COORD],
                                                    "minItems": 2, "maxItems": 2}},
    )
    dwell_seconds: float | None = Field(
        default=None,
        description="How long a violation must persist before a candidate is raised. Defaults per kind: "
        f"{_DWELL_DEFAULTS}. 0 to 86400 (a day).",
        json_schema_extra={"minimum": 0, "maximum": MAX_DWELL_SECONDS},
    )
    max_displacement: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="A tracked object counts as stationary while its anchor stays within this fraction of "
        "its box size (the larger side) of where its dwell started.",
    )
    min_score: float = Field(default=0.25, ge=0, le=1, description="Minimum detection score for this zone's rule.")
    labels: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None,
        max_length=50,
        description="Detector labels this zone's rule watches; default: the classes of the kind's rule "
        "(docs/detection.md; e.g. sidewalk: car, truck, bus). COCO's `motorcycle` is mostly "
        "an e-bike on a Chinese pavement, so it counts as non-motor by default; list it in a sidewalk zone's "
        "labels (and leave it out of the non_motor zone's) where real motorcycles dominate.",
    )
    min_object_area: float = Field(
        default=0.0005,
        ge=0,
        le=1,
        description="Left-behind objects: minimum size as a fraction of the frame area (0.0005 = 0.05 %).",
    )
    min_object_pixels: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="Left-behind objects: minimum box area in source-image pixels (applied besides "
        "min_object_area; the larger requirement wins). Unset = only min_object_area.",
    )
    min_object_zone_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Left-behind objects: minimum box area as a fraction of this zone's area (0 = no such limit).",
    )
    max_age_seconds: float = Field(
        default=6 * 3600,
        gt=0,
        le=30 * 86400,
        description="Left-behind objects: after this long an unhandled static object is absorbed into the "
        "background model.",
    )
    sensitivity: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Left-behind objects: 0 (only strong changes) to 1 (faint changes too).",
    )
    shop_id: str | None = Field(default=None, max_length=64, description="Shopfront zones: the registered shop in front of which this strip lies.")

    _v_id = field_validator("id")(lambda cls, v: _check_id(v))

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, value: list[Point]) -> list[Point]:
        if len(value) < 3:
            raise ValueError(f"a polygon needs at least 3 points, got {len(value)}")
        for i, (x, y) in enumerate(value):
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(
                    f"point {i} [{x}, {y}] is outside 0-1: coordinates are fractions of frame width/height"
                )
        return value

    @field_validator("dwell_seconds")
    @classmethod
    def _dwell(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError(f"dwell_seconds must be 0 or more, got {value}")
        if value is not None and not value <= MAX_DWELL_SECONDS:
            raise ValueError(f"dwell_seconds must be at most {MAX_DWELL_SECONDS:g} (a day), got {value}")
        return value

    @property
    def dwell(self) -> float:
        return self.dwell_seconds if self.dwell_seconds is not None else DEFAULT_DWELL[self.kind]

    @property
    def violation(self) -> str:
        return VIOLATION_BY_ZONE_KIND[self.kind]


class CameraConfig(_Strict):
    """One camera: where its frames come from and which zones are watched."""

    id: str = Field(description="Camera id, unique (letters, digits, '-', '_', '.').")
    name: str | None = Field(default=None, description="Display name (e.g. 西门).")
    source: str = Field(
        description="Video file, image file or folder, rtsp://… stream, or http(s)://… JPEG snapshot URL. "
        "Relative paths are resolved against the configuration file's folder."
    )
    analysis_fps: float = Field(default=1.0, gt=0, le=30, description="Frames analysed per second (frames in between are skipped).")
    rtsp_transport: Literal["tcp", "udp"] = Field(
        default="tcp",
        description="RTSP cameras: carry the video over the RTSP TCP connection (tcp, works through NAT and "
        "firewalls, no loss) or over separate UDP ports (udp, less latency, loses packets on busy networks).",
    )
    keyframe_only: bool | None = Field(
        default=None,
        description="RTSP cameras: decode only key frames (a fraction of the CPU; the analysis rate is then at "
        "most one frame per GOP, e.g. 1 fps for a 1 s key-frame interval). Default (unset): on when "
        "analysis_fps <= 2.",
    )
    fast_decode: bool = Field(
        default=False,
        description="RTSP cameras: decode H.264/H.265 without the deblocking filter and with FFmpeg's fast "
        "shortcuts: about 20 % less decode CPU per frame (a 720p key frame: 14 -> 11 ms here), slightly blockier "
        "pictures. For crowded workers; leave off where evidence pictures must be at full quality.",
    )
    read_batch_seconds: float = Field(
        default=DEFAULT_READ_BATCH_SECONDS, ge=0, le=1,
        description="RTSP cameras over tcp: once the reader has caught up with the camera it sleeps this long and "
        "reads what arrived meanwhile in one burst, instead of waking for every packet (about a third less "
        "receiving CPU with many cameras; a key frame is analysed at most this much later). 0: read each packet "
        "as it arrives. Not used over udp, where a sleeping reader could lose packets.",
    )
    hw_decode: Literal["none", "cuda", "qsv", "vaapi", "videotoolbox", "d3d11va", "drm", "amf"] = Field(
        default="none",
        description="RTSP cameras: decode on a GPU or media engine through FFmpeg's hardware decoders (cuda: "
        "NVIDIA NVDEC; qsv / vaapi: Intel; videotoolbox: Apple; d3d11va: Windows). Needs the driver and a PyAV "
        "whose FFmpeg was built with it. Where it cannot start, the camera is reported (state error, what to "
        "install) and retried, unless hw_decode_fallback is on. Default none: the CPU.",
    )
    hw_decode_fallback: bool = Field(
        default=False,
        description="RTSP cameras with hw_decode: decode on the CPU when the hardware decoder cannot start "
        "(logged once per connection as hw_decode_fallback) instead of reporting the camera.",
    )
    evidence_source: str | None = Field(
        default=None,
        description="When `source` is a camera's low-resolution sub-stream, the main-stream URL (rtsp:// or "
        "http(s):// snapshot) from which a full-resolution evidence picture is taken for each new candidate.",
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=300,
        description="Live cameras: seconds to connect, and the longest silence tolerated while streaming, before "
        "the connection counts as failed and is retried.",
    )
    reconnect_max_seconds: float = Field(
        default=30.0, ge=1, le=3600,
        description="Live cameras: longest wait between reconnect attempts (the wait starts at 1 s and doubles "
        "per failure, with random jitter).",
    )
    username: str | None = Field(
        default=None, description="Live cameras: user name (instead of user:password@ in the URL)."
    )
    password_env: str | None = Field(
        default=None,
        description="Live cameras: name of the environment variable holding the camera's password, so the "
        "secret stays out of the configuration file and the database.",
    )
    http_auth: Literal["auto", "basic", "digest"] = Field(
        default="auto", description="HTTP snapshot cameras: authentication scheme; auto answers the camera's challenge."
    )
    model: str = Field(default="default", description="Key of the model in `models` used for this camera.")
    extra_models: list[str] = Field(
        default_factory=list,
        description=f"Keys of more entries of `models` run beside `model` on every analysed frame of this camera "
        f"(at most {MAX_EXTRA_MODELS}), e.g. [garbage] beside a COCO model that finds the people and vehicles: their "
        "detections join the camera model's, a box two models report with the same label (IoU at least the camera "
        "model's nms_iou) counted once at the higher score. Each candidate records the model whose box raised it. "
        "A model registry version registered with `--slot KEY` replaces (promote) or shadows the extra model KEY "
        "on its cameras, as one without a slot does `model`; frames the motion gate skips skip these too.",
    )
    enabled: bool = Field(default=True, description="Disabled cameras are kept in the database but not run.")
    address: str | None = Field(default=None, description="Street address of the camera's view, printed on notices.")
    latitude: float | None = Field(default=None, ge=-90, le=90, description="WGS-84 latitude of the watched place.")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS-84 longitude of the watched place.")
    zones: list[ZoneConfig] = Field(default_factory=list, max_length=MAX_ZONES_PER_CAMERA,
                                    description=f"Watched zones of this camera (at most {MAX_ZONES_PER_CAMERA}).")
    masks: MaskPolygons = Field(
        default_factory=list, max_length=MAX_ZONES_PER_CAMERA,
        description="Polygons (corners as [x, y] fractions of frame width and height, like zones) where nothing is "
        "analysed: burned-in date/time text, a tree in the wind, a screen. Nothing anchored inside one raises a "
        "candidate. Drawn in the zone editor (cameras page, mask mode) or set here; the file's masks are imported "
        "when they change, otherwise masks edited in the UI are kept (as zones are). `streetwarden masks suggest` "
        "and the editor's Suggest masks button propose masks over changing overlay text.",
    )
    stream_cost: float | None = Field(
        default=None, gt=0, le=1000,
        description="Load this camera puts on a worker, in stream-cost units (1 = a 720p frame analysed per "
        "second). Default: analysis_fps x frame pixels / 720p pixels, measured by the worker that runs it "
        "(analysis_fps x 1 until then). Workers take cameras up to `cluster.capacity` units.",
    )

    _v_id = field_validator("id")(lambda cls, v: _check_id(v))

    _v_masks = field_validator("masks")(lambda cls, v: check_masks(v))

    @field_validator("evidence_source")
    @classmethod
    def _evidence_source(cls, value: str | None) -> str | None:
        if value is not None and value.split("://", 1)[0].lower() not in ("rtsp", "rtsps", "http", "https"):
            raise ValueError("must be an rtsp://, rtsps://, http:// or https:// URL of the camera's main stream")
        return value

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError("must be the name of an environment variable (letters, digits, '_')")
        return value

    @property
    def live(self) -> bool:
        return "://" in self.source

    @property
    def decode_keyframes_only(self) -> bool:
        """keyframe_only, or automatic: on at analysis rates of 2 fps or less."""
        return self.keyframe_only if self.keyframe_only is not None else self.analysis_fps <= 2.0

    def password(self) -> str | None:
        """The password from `password_env`; ConfigError naming the field when the variable is unset."""
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(f"camera '{self.id}': password_env: environment variable {self.password_env} is not set")
        return value

    @property
    def model_keys(self) -> list[str]:
        """Every model this camera runs: its own, then its extra models."""
        return [self.model, *self.extra_models]

    @model_validator(mode="after")
    def _extra_models(self) -> "CameraConfig":
        if len(self.extra_models) > MAX_EXTRA_MODELS:
            raise ValueError(f"extra_models: at most {MAX_EXTRA_MODELS} extra models per camera (each is a model call "
                             f"per frame), got {len(self.extra_models)}")
        for j, key in enumerate(self.extra_models):
            if key == self.model:
                raise ValueError(f"extra_models[{j}]: '{key}' is the camera's own `model`; list only other models")
            if key in self.extra_models[:j]:
                raise ValueError(f"extra_models[{j}]: '{key}' is listed twice")
        return self

    @model_validator(mode="after")
    def _unique_zones(self) -> "CameraConfig":
        seen: set[str] = set()
        for zone in self.zones:
            if zone.id in seen:
                raise ValueError(f"zone id '{zone.id}' appears twice in camera '{self.id}'")
            seen.add(zone.id)
        return self


class ModelConfig(_Strict):
    """An ONNX detector and how to run it."""

    path: str = Field(description="ONNX file; a relative path is looked up in $STREETWARDEN_MODELS, the model store "
                      "(`model_store.path`), then next to the config file.")
    family: str | None = Field(default=None, description="Output family: 'yolox' or 'ultralytics'. Read from the model card or the ONNX file when omitted.")
    score_threshold: float = Field(default=0.25, ge=0, le=1, description="Detections below this score are dropped.")
    nms_iou: float = Field(default=0.45, gt=0, le=1, description="IoU above which same-class boxes are suppressed.")
    threads: int = Field(default=1, ge=0, le=64, description=(
        "onnxruntime intra-op threads per model call; 0 = one per core. Keep 1 and let `parallel_calls` "
        "use the cores: on CPUs, parallel single-threaded calls beat one multi-threaded call."))
    parallel_calls: int = Field(default=0, ge=0, le=64, description=(
        "Model calls a worker keeps in flight at once; 0 = one per CPU core divided by `threads`."))
    max_batch: int = Field(default=8, ge=1, le=64, description="Most frames handed to one model job at once (batched across cameras).")
    frames_per_call: int = Field(default=0, ge=0, le=64, description=(
        "Frames in one onnxruntime call, at most max_batch; 0 = automatic: one on the CPU (a call of 8 frames "
        "costs 8-16 % more per frame than 8 calls of one there: one frame's activations stay in the core's "
        "cache), the whole batch on a GPU provider."))
    rect: bool = Field(default=True, description=(
        "Keep each frame's aspect ratio in the model input, padding only up to a multiple of 32 (a 16:9 camera "
        "runs at 416x256 instead of 416x416: about 40 % less model time, same detections). Used only where the "
        "ONNX graph runs such inputs (checked at load); false = always the model's square input."))
    providers: list[Literal["tensorrt", "cuda", "cpu"]] = Field(
        default_factory=lambda: ["cpu"], min_length=1, max_length=3,
        description="onnxruntime execution providers, best first: tensorrt, cuda, cpu (the CPU always runs what a "
        "GPU provider leaves out). One that is not available stops the worker with one line naming it, unless "
        "`fallback_to_cpu` is set. GPU providers need the onnxruntime-gpu package.")
    fallback_to_cpu: bool = Field(
        default=False, description="Run on the CPU (one warning line) when a provider in `providers` is not available.")

    @field_validator("providers")
    @classmethod
    def _unique_providers(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"lists a provider twice: {v}")
        return v


class ModelStoreConfig(_Strict):
    """The deployment's folder of model files, filled by `streetwarden models fetch` / `models import`."""

    path: str | None = Field(
        default=None,
        description="Model store folder (relative to the config file). Default: `<storage>/models`. "
        "$STREETWARDEN_MODELS, when set, overrides it.",
    )
    mirror: str | None = Field(
        default=None,
        description="Base URL of a mirror inside the city network that serves each model under its download file "
        "name (e.g. http://mirror.city.local/models/yolox_nano.onnx); `models fetch` then downloads from it "
        "instead of the internet. $STREETWARDEN_MODEL_MIRROR, or `models fetch --mirror`, overrides it.",
    )

    _v_mirror = field_validator("mirror")(lambda cls, v: _http_url(v))


class TrackerConfig(_Strict):
    """Multi-object tracker settings."""

    iou_match: float = Field(default=0.3, gt=0, lt=1, description="Minimum IoU to continue a track.")
    high_score: float = Field(default=0.5, ge=0, le=1, description="Detections above this score can start tracks (ByteTrack high set).")
    lost_seconds: float = Field(default=10.0, gt=0, description="A track unseen this long is dropped.")
    new_track_score: float = Field(default=0.25, ge=0, le=1, description="Unmatched detections at or above this score start a track (low-score static objects still get followed; dwell filters flicker).")


class DedupeConfig(_Strict):
    """How one real-world violation is kept as one candidate."""

    window_seconds: float = Field(
        default=900.0,
        ge=0,
        description="A new finding in the same zone at the same place within this time of an existing "
        "candidate updates that candidate instead of raising a new one.",
    )
    min_iou: float = Field(default=0.3, gt=0, le=1, description="Box overlap that counts as 'the same place'.")


class ServerConfig(_Strict):
    """Web server settings for `streetwarden serve`."""

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port.")
    secret_env: str = Field(default="STREETWARDEN_SECRET", description="Environment variable holding the session-signing secret.")
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (set true behind HTTPS).")
    claim_seconds: float = Field(default=120.0, gt=0, description="How long a reviewer's claim on a candidate lasts.")
    skip_seconds: float = Field(
        default=1800.0,
        ge=0,
        description="After a reviewer skips a candidate it stays in the queue for the others but is not "
        "offered to that reviewer again for this long.",
    )
    undo_seconds: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="A warn / case / reject decision can be taken back by its reviewer for this long; the notice "
        "or case it issues is held (no webhook, not in the pull API) until the window closes. 0 = no undo.",
    )
    session_hours: float = Field(default=12.0, gt=0, description="How long a browser login lasts.")
    token_days: float = Field(default=30.0, gt=0, description="How long a bearer token from /api/v1/auth/token lasts.")
    snapshot_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often each camera's reader stores its latest frame for the cameras page and zone "
        "editor (storage/snapshots/<camera>.jpg); 0 = never. Each costs a 720p JPEG encode (~2–6 ms of CPU): "
        "at 10 s that was 1–7 % of a camera's analysis at 0.5 fps (docs/cameras.md, Benchmark).",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=32,
        description="HTTP worker processes. 1 serves everything in one process; more spread the API over "
        "cores for big queues (the camera workers stay in the main process; camera health is then not "
        "shown by the API).",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins from one client address for one account before that address must wait "
        "(429 with Retry-After) before trying that account again; other addresses are not affected.",
    )
    login_address_max_failures: int = Field(
        default=30, ge=1,
        description="Failed logins from one client address across all accounts (password spraying) before "
        "that address must wait before any login.",
    )
    login_first_delay_seconds: float = Field(
        default=1.0, gt=0, description="The first wait; it doubles with each further failure.")
    login_max_delay_seconds: float = Field(default=900.0, gt=0, description="The longest wait.")
    login_forget_seconds: float = Field(
        default=300.0, gt=0,
        description="One remembered failure is forgotten per this many seconds (a correct password from "
        "that address forgets its failures for that account at once).",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of your reverse proxies. Only requests from these have "
        "their X-Forwarded-For believed for the client address (login limits, audit log); empty = never.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest request body the API reads, in bytes (larger: 413). The biggest legitimate "
        "body, a camera's full zone set at the limits, is about 400 kB.",
    )


class GatingConfig(_Strict):
    """Skipping the model on frames where nothing moved (pipeline/motion_gate.py, docs/cameras.md)."""

    enabled: bool = Field(
        default=False,
        description="Skip the model on a frame when no zone changed since the last frame the model saw; the "
        "camera's tracks, dwell timers and parked vehicles carry forward on the last detections. Saves most "
        "model calls on quiet streets (night, a closed market).")
    full_run_seconds: float = Field(
        default=10.0, gt=0, le=600,
        description="The model runs on a camera at least this often even when nothing moved, so a change the "
        "test missed costs at most this long.")
    pixel_threshold: float = Field(
        default=14.0, gt=0, le=255,
        description="Grey levels (0-255, on a thumbnail `thumbnail_width` wide) a pixel must change by to count as moved.")
    zone_share: float = Field(
        default=0.02, gt=0, le=1,
        description="Share of a zone's thumbnail pixels that must have moved for the model to run.")
    min_pixels: int = Field(default=3, ge=0, description="Moved thumbnail pixels below this never count (noise specks).")
    margin: float = Field(
        default=0.05, ge=0, le=0.5,
        description="Zones are grown by this fraction of the frame for the test: a vehicle's body overhangs "
        "the zone its anchor stands in, and arrivals start outside it.")
    thumbnail_width: int = Field(default=160, ge=16, le=1920, description="Width in pixels of the grey thumbnail compared.")
    stream_bytes: bool = Field(
        default=False,
        description="Keyframe-only RTSP cameras: also skip the key frame's decode when the inter frames received "
        "since the last analysed one were small. Each camera first learns from its own decoded frames whether its "
        "encoder's bytes follow motion (variable bitrate) and uses them only while they do; streams whose bytes "
        "do not follow the zones' changes never skip (pipeline/stream_bytes.py, docs/cameras.md).")
    stream_bytes_ratio: float = Field(
        default=2.0, gt=1, le=100,
        description="An interval counts as still when its bytes per inter frame are below this many times the "
        "camera's quiet level (its stillest recent interval); the bytes are trusted only "
        "while every recent interval with a change had more.")
    stream_bytes_learn: int = Field(
        default=3, ge=1, le=20,
        description="Decoded intervals of each kind (a zone changed, nothing changed) a camera must have seen "
        "before its stream's bytes are trusted.")


class ClusterConfig(_Strict):
    """Many worker nodes on one PostgreSQL database: each takes cameras by lease (docs/deploy.md)."""

    lease_seconds: float = Field(
        default=15.0, ge=2, le=300,
        description="How long a worker's hold on a camera lasts without renewal: a killed, frozen or cut-off "
        "worker's cameras pass to the others after this long (a cut-off worker stops them sooner).",
    )
    heartbeat_seconds: float | None = Field(
        default=None, gt=0,
        description="How often a worker renews its leases and rebalances (default: a third of lease_seconds).",
    )
    capacity: float | None = Field(
        default=None, gt=0,
        description="Stream-cost units this worker takes at most (see a camera's `stream_cost`); default "
        "4 per CPU core. $STREETWARDEN_CAPACITY overrides it per node.",
    )
    health_host: str = Field(default="127.0.0.1", description="`streetwarden worker`: address of its health and metrics endpoint (0.0.0.0 in a container).")
    health_port: int = Field(default=8081, ge=0, le=65535, description="`streetwarden worker`: port of /healthz, /readyz and /metrics (0 = none).")

    @property
    def heartbeat(self) -> float:
        return self.heartbeat_seconds or self.lease_seconds / 3

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> "ClusterConfig":
        if self.heartbeat_seconds is not None and self.heartbeat_seconds * 2 > self.lease_seconds:
            raise ValueError("heartbeat_seconds must be at most half of lease_seconds, so one missed renewal does not lose the cameras")
        return self



class NoticesConfig(_Strict):
    """Warning notices: how long the offender has to comply, and what happens when they do not."""

    grace_seconds: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_GRACE),
        description=f"Grace period per violation type ({', '.join(VIOLATIONS)}) in seconds, 0 to 30 days; "
        "at the deadline the camera re-checks the place.",
    )
    on_persist: Literal["case", "supervisor"] = Field(
        default="case",
        description="Still there at the re-check: 'case' opens an enforcement case automatically, "
        "'supervisor' puts the notice in front of a supervisor, who decides.",
    )
    check_every_seconds: float = Field(default=5.0, gt=0, description="How often the worker looks for notices whose deadline has passed.")
    max_frame_age_seconds: float = Field(
        default=30.0, gt=0,
        description="A re-check needs a frame analysed after the deadline and no older than this; "
        "otherwise the camera counts as offline and the re-check is postponed.",
    )
    postpone_seconds: float = Field(default=60.0, gt=0, description="How long a re-check waits after finding the camera offline.")
    min_iou: float = Field(default=0.3, gt=0, le=1, description="Box overlap with the notice's box that counts as 'still there'.")
    min_similarity: float = Field(
        default=0.6, ge=-1, le=1,
        description="Left-behind objects (dumping, goods): correlation of the box region with the evidence "
        "crop above which the object counts as still there.",
    )

    @field_validator("grace_seconds")
    @classmethod
    def _grace(cls, value: dict[str, float]) -> dict[str, float]:
        for key, seconds in value.items():
            if key not in VIOLATIONS:
                raise ValueError(f"unknown violation '{key}' (known: {', '.join(VIOLATIONS)})")
            if not 0 <= seconds <= MAX_GRACE_SECONDS:
                raise ValueError(f"grace for '{key}' must be 0 to {MAX_GRACE_SECONDS:g} seconds (30 days), got {seconds}")
        return value

    def grace_for(self, violation: str) -> float:
        return float(self.grace_seconds.get(violation, DEFAULT_GRACE.get(violation, 600.0)))


class WebhooksConfig(_Strict):
    """Signed webhooks to the city's case-management system (delivered from an outbox table)."""

    url: str | None = Field(default=None, description="Receiver URL (http or https); no webhooks are sent when empty.")
    secret_env: str = Field(
        default="STREETWARDEN_WEBHOOK_SECRET",
        description="Environment variable holding the shared HMAC-SHA256 secret (at least 16 characters); "
        "required when `url` is set.",
    )
    events: list[Literal["notice.created", "notice.closed", "notice.withdrawn", "case.created", "case.updated"]] = Field(
        default_factory=lambda: ["notice.created", "notice.closed", "notice.withdrawn", "case.created", "case.updated"],
        description="Event types to deliver.",
    )
    max_attempts: int = Field(default=8, ge=1, le=100, description="Attempts before a delivery is dead-lettered.")
    backoff_seconds: float = Field(default=5.0, gt=0, description="First retry delay; doubled on each further failure.")
    backoff_max_seconds: float = Field(default=3600.0, gt=0, description="Upper bound of a retry delay.")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="HTTP timeout of one delivery attempt.")
    poll_seconds: float = Field(default=1.0, gt=0, description="How often the delivery worker looks for due messages.")

    _v_url = field_validator("url")(lambda cls, v: _http_url(v))

    @model_validator(mode="after")
    def _secret_present(self) -> "WebhooksConfig":
        if self.url:
            self.secret()
        return self

    def secret(self) -> bytes:
        """The HMAC key; raises a ValueError naming `secret_env` when it is missing or weak."""
        value = os.environ.get(self.secret_env, "")
        if not value:
            raise ValueError(f"secret_env: environment variable '{self.secret_env}' is not set or empty "
                             "(it must hold the webhook signing secret)")
        if len(value) < 16:
            raise ValueError(f"secret_env: the secret in '{self.secret_env}' is {len(value)} characters; use at least 16")
        return value.encode()


class ShopConfig(_Strict):
    """A registered shop: notices and cases for out-of-shop trading are addressed to it."""

    id: str = Field(description="Shop id (letters, digits, '-', '_', '.').")
    name: str = Field(description="Shop name as on the business licence.")
    address: str | None = Field(default=None, description="Street address of the shop.")
    contact: str | None = Field(default=None, description="Contact person and phone number.")
    zones: list[str] = Field(
        default_factory=list,
        description="Shopfront zones in front of it as 'camera_id/zone_id' (zones may also name the shop with `shop_id`).",
    )

    _v_id = field_validator("id")(lambda cls, v: _check_id(v))


class ShopRatingConfig(_Strict):
    """Green / yellow / red rating of a shop by its violations in a window."""

    window_days: int = Field(default=90, ge=1, le=3650, description="Violations counted over this many past days.")
    yellow_at: int = Field(default=2, ge=1, description="This many violations or more in the window: yellow.")
    red_at: int = Field(default=5, ge=1, description="This many violations or more in the window: red (must be above yellow_at).")

    @model_validator(mode="after")
    def _order(self) -> "ShopRatingConfig":
        if self.red_at <= self.yellow_at:
            raise ValueError(f"red_at ({self.red_at}) must be greater than yellow_at ({self.yellow_at})")
        return self


class PlatesConfig(_Strict):
    """Licence plates of vehicles parked on the sidewalk, read by OCR from the best vehicle crop."""

    enabled: bool = Field(default=False, description="Read plates of sidewalk-parking candidates (needs the `plates` extra: rapidocr-onnxruntime).")
    min_confidence: float = Field(default=0.5, ge=0, le=1, description="Readings below this OCR confidence are not kept.")


class ViolationCodeConfig(_Strict):
    """How the city's case system classifies one violation (GB/T 30428 / CJJ/T 106 event classes)."""

    category: str = Field(min_length=1, max_length=64, description="Category (大类), e.g. 街面秩序.")
    category_code: str | None = Field(default=None, max_length=32, description="The category's code in the city's table; unset = the default's.")
    code: str = Field(min_length=1, max_length=32, description="Subclass (小类) code in the city's table, e.g. 0505.")
    name: str = Field(min_length=1, max_length=64, description="Subclass name, e.g. 机动车乱停放.")


def _check_codes(value: dict[str, ViolationCodeConfig]) -> dict[str, ViolationCodeConfig]:
    unknown = [k for k in value if k not in VIOLATIONS]
    if unknown:
        raise ValueError(f"unknown violation '{unknown[0]}' (known: {', '.join(VIOLATIONS)})")
    return value


class DecodingConfig(_Strict):
    """Where the key frames of RTSP cameras are decoded (camera_adapters/decode_pool.py, docs/cameras.md)."""

    threads: int | Literal["auto"] = Field(
        default="auto",
        description="Threads that decode the key frames of all keyframe-only RTSP cameras (decode, BGR, the "
        "model's letterbox); each camera's own thread then only receives. auto: half the cores, at least one. "
        "0: each camera's thread decodes its own key frames. Full-decode cameras always decode in their own thread.",
    )

    _v_threads = field_validator("threads")(lambda cls, v: _check_decode_threads(v))

    def pool_threads(self) -> int:
        """The decode pool's size on this machine; 0: no pool."""
        from streetwarden.camera_adapters.decode_pool import auto_decode_threads

        return auto_decode_threads() if self.threads == "auto" else int(self.threads)


def _check_decode_threads(v: int | str) -> int | str:
    if v != "auto" and not (0 <= int(v) <= 64):
        raise ValueError("must be auto, 0 (each camera decodes its own key frames) or 1 to 64 threads")
    return v


class ClipsConfig(_Strict):
    """Evidence clips: the seconds around a candidate's first sight and its re-check, as MP4.

    Memory: each RTSP camera keeps a packet ring of at most before + after + 5 seconds AND at most
    ``max_ring_megabytes`` (whichever is smaller), compressed packets only: ~1-4 MB per 1080p camera.
    """

    enabled: bool = Field(default=True, description="Keep clips (RTSP: packet ring; files and loop://: cut from the file). "
                          "Snapshot (JPEG) cameras never have clips; their candidates say so.")
    before_seconds: float = Field(default=10.0, ge=0, le=60, description="Seconds of video kept before the moment.")
    after_seconds: float = Field(default=5.0, ge=0, le=60, description="Seconds after it (a live clip is written this "
                                 "long after the moment).")
    max_ring_megabytes: float = Field(default=16.0, gt=0, le=512, description="Memory cap of one RTSP camera's packet "
                                      "ring (compressed packets, no pictures), in MB. The ring also holds at most "
                                      "before_seconds + after_seconds + 5 s (default 20 s; ~5 MB at 2 Mbit/s); a "
                                      "stream that needs more than the MB cap keeps fewer seconds (the newest).")
    first_sight_max_clips: int = Field(default=8, ge=0, le=256, description="RTSP cameras: provisional clips of first "
                                       "sights (an object starting its dwell in a zone) kept per camera until a "
                                       "candidate takes one as `clip_first` or its object is gone; the oldest is "
                                       "dropped beyond this. 0: no arrival clips from the ring.")
    first_sight_margin_seconds: float = Field(default=60.0, ge=0, le=3600, description="A provisional first-sight clip "
                                              "is deleted this long after its zone's dwell has passed without a "
                                              "candidate taking it (or when its dwell timer is forgotten).")

    @property
    def ring_seconds(self) -> float:
        """What the ring holds: the whole clip plus slack for a key frame interval."""
        return self.before_seconds + self.after_seconds + 5.0


class Settings(_Strict):
    """The whole StreetWarden configuration file."""

    database: str = Field(default="sqlite:///streetwarden.db", description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://…")
    storage: str = Field(default="./data", description="Folder for evidence files; relative to the config file.")
    models: dict[str, ModelConfig] = Field(
        default_factory=lambda: {"default": ModelConfig(path="yolox_nano_coco_416.onnx")},
        description="Detectors by key; cameras pick one with `model` (default: 'default').",
    )
    model_store: ModelStoreConfig = Field(default_factory=ModelStoreConfig, description="Where model files live and where they are downloaded from.")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracker settings.")
    dedupe: DedupeConfig = Field(default_factory=DedupeConfig, description="De-duplication settings.")
    server: ServerConfig = Field(default_factory=ServerConfig, description="Web server settings.")
    cluster: ClusterConfig = Field(default_factory=ClusterConfig, description="Camera leases when several worker nodes share a PostgreSQL database.")
    cameras: list[CameraConfig] = Field(default_factory=list, description="The cameras to watch.")
    notices: NoticesConfig = Field(default_factory=NoticesConfig, description="Warning notices, grace periods and re-checks.")
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig, description="Signed webhooks to the case-management system.")
    shops: list[ShopConfig] = Field(default_factory=list, description="Registered shops (out-of-shop trading is addressed to them).")
    shop_rating: ShopRatingConfig = Field(default_factory=ShopRatingConfig, description="Shop rating thresholds.")
    plates: PlatesConfig = Field(default_factory=PlatesConfig, description="Licence plate reading.")
    clips: ClipsConfig = Field(default_factory=ClipsConfig, description="Evidence video clips and the memory they may use.")
    violation_codes: dict[str, ViolationCodeConfig] = Field(
        default_factory=dict,
        description="Per violation type, the category / code / name the city's case system files it under, "
        "replacing the GB/T 30428 defaults (e.g. {sidewalk_parking: {category: 街面秩序, code: '0505', name: "
        "机动车乱停放}}). Stamped on each notice and case when it is issued.",
    )
    gating: GatingConfig = Field(default_factory=GatingConfig, description="Skip the model when nothing moved in a camera's zones.")
    decoding: DecodingConfig = Field(default_factory=DecodingConfig, description="Where RTSP key frames are decoded.")
    base_dir: Annotated[str, Field(exclude=True)] = "."
    config_file: Annotated[str | None, Field(exclude=True)] = None  # the YAML it came from (for hints)

    _v_codes = field_validator("violation_codes")(lambda cls, v: _check_codes(v))

    def violation_code(self, violation: str) -> ViolationCode:
        """The classification of a violation type: this deployment's override, else the standard's default."""
        default = DEFAULT_VIOLATION_CODES[violation]
        over = self.violation_codes.get(violation)
        if over is None:
            return default
        return ViolationCode(over.category, over.category_code or default.category_code, over.code, over.name)

    @model_validator(mode="after")
    def _refs(self) -> "Settings":
        seen: set[str] = set()
        for i, cam in enumerate(self.cameras):
            if cam.id in seen:
                raise ValueError(f"camera id '{cam.id}' appears twice")
            seen.add(cam.id)
            if cam.model not in self.models:
                raise ValueError(f"camera '{cam.id}' uses model '{cam.model}', which is not in `models` ({', '.join(self.models)})")
            for j, key in enumerate(cam.extra_models):
                if key not in self.models:
                    raise ValueError(f"cameras[{i}]({cam.id}).extra_models[{j}]: model '{key}' is not in `models` "
                                     f"({', '.join(self.models)})")
        return self

    @model_validator(mode="after")
    def _shop_refs(self) -> "Settings":
        zones = {f"{c.id}/{z.id}": z for c in self.cameras for z in c.zones}
        shops: set[str] = set()
        for shop in self.shops:
            if shop.id in shops:
                raise ValueError(f"shop id '{shop.id}' appears twice")
            shops.add(shop.id)
            for ref in shop.zones:
                if ref not in zones:
                    raise ValueError(f"shop '{shop.id}' lists zone '{ref}', which is no 'camera_id/zone_id' of `cameras`")
        for ref, zone in zones.items():
            if zone.shop_id and zone.shop_id not in shops:
                raise ValueError(f"zone '{ref}' names shop_id '{zone.shop_id}', which is not in `shops`")
        return self

    # -- resolved paths -------------------------------------------------------------------------
    def resolve(self, path: str) -> Path:
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def storage_path(self) -> Path:
        return self.resolve(self.storage)

    @property
    def database_url(self) -> str:
        """SQLite URLs with a relative file are made relative to the config file."""
        url = self.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve(url[len(prefix):]))
        return url

    @property
    def model_store_dir(self) -> Path:
        """$STREETWARDEN_MODELS, else `model_store.path`, else `<storage>/models`."""
        env = os.environ.get(MODELS_DIR_ENV)
        if env:
            return Path(os.path.expanduser(env))
        return self.resolve(self.model_store.path) if self.model_store.path else self.storage_path / "models"

    @property
    def model_mirror(self) -> str | None:
        return os.environ.get(MODEL_MIRROR_ENV) or self.model_store.mirror

    def model_path(self, key: str) -> Path:
        return resolve_model_path(self.models[key].path, Path(self.base_dir), self.model_store_dir)

    def camera_source(self, cam: CameraConfig) -> str:
        if "://" in cam.source:
            return cam.source
        return str(self.resolve(cam.source))


def model_search_dirs(base_dir: Path | None = None, store: Path | None = None) -> list[tuple[str, Path]]:
    """Where a relative model path is looked for, in order, each with the name shown to users."""
    places: list[tuple[str, Path]] = []
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        places.append(("$" + MODELS_DIR_ENV, Path(os.path.expanduser(env))))
    if store is not None:
        places.append(("model store", store))
    if base_dir is not None:
        places.append(("config folder", base_dir))
    places.append(("current folder", Path.cwd()))
    unique: list[tuple[str, Path]] = []
    for name, folder in places:  # $STREETWARDEN_MODELS is also the store when set: list it once
        if all(folder.resolve() != seen.resolve() for _, seen in unique):
            unique.append((name, folder))
    return unique


def resolve_model_path(path: str, base_dir: Path | None = None, store: Path | None = None) -> Path:
    """Find a model file: absolute, else $STREETWARDEN_MODELS, the model store, the config folder, the
    current folder. Not found: where `models fetch` would put it (the store), else the first place."""
    p = Path(os.path.expanduser(path))
    if p.is_absolute():
        return p
    candidates = [d / p for _, d in model_search_dirs(base_dir, store)]
    for c in candidates:
        if c.exists():
            return c
    return store / p if store is not None else candidates[0]


def _format_loc(loc: tuple[Any, ...], data: Any) -> str:
    """Turn pydantic's location into `cameras[0](west-gate).zones[1](walk-1).kind`."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            try:
                node = node[item]
                if isinstance(node, dict) and "id" in node:
                    label += f"({node['id']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            try:
                node = node[item] if isinstance(node, dict) else None
            except (KeyError, TypeError):
                node = None
    return "".join(parts)


def format_validation_error(err: ValidationError, data: Any, origin: str) -> str:
    lines = []
    for e in err.errors():
        loc = _format_loc(tuple(e["loc"]), data)
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; `streetwarden config-doc` lists every field)"
        sub = re.match(r"^([a-z_]+(?:\[\d+\])?): ", msg)
        if loc and sub:  # a model-level check that names its own field: webhooks + secret_env
            loc, msg = f"{loc}.{sub.group(1)}", msg[sub.end():]
        where = f"{loc}: " if loc else ""
        lines.append(f"{origin}: {where}{msg}")
    return "\n".join(lines)


def parse_settings(data: Any, origin: str = "config", base_dir: Path | None = None) -> Settings:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the file must hold a mapping of settings, got {type(data).__name__}")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, data, origin)) from None
    settings.base_dir = str(base_dir or Path.cwd())
    return settings


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a YAML configuration file; raise ConfigError naming the bad field."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: configuration file not found (pass --config with the path to your YAML file)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}:{where} is not valid YAML: {getattr(err, 'problem', err)}") from None
    settings = parse_settings(data, origin=str(p), base_dir=p.resolve().parent)
    settings.config_file = str(p)
    return settings


def describe_settings() -> str:
    """Every option with its description, for `streetwarden config-doc`."""
    out: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            if field.exclude:
                continue
            ann = field.annotation
            out.append(f"{prefix}{name}: {field.description or ''}")
            for sub in (getattr(ann, "__args__", None) or (ann,)):
                if isinstance(sub, type) and issubclass(sub, BaseModel):
                    walk(sub, prefix + name + ("[]." if "list" in str(ann) else "."))

    walk(Settings, "")
    return "\n".join(out)
