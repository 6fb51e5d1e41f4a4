"""Which models each camera of a worker runs (its `model` and each of its `extra_models`), and which
shadow models watch beside them, as the model registry says now. The worker polls it (one small
query) and swaps between frames.

A registry version runs with the options of the camera's configured model (threads, batch, NMS),
its own file and family, and its own score threshold when it was registered with one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streetwarden.config import Settings
from streetwarden.models import OnnxDetector
from streetwarden.models.store import require_model, sha256_file
from streetwarden.store.db import Database
from streetwarden.store.model_registry.service import model_assignment, running


@dataclass(frozen=True)
class Version:
    """A running registry version, detached from its session."""

    id: int
    ref: str
    file: str
    family: str | None
    slot: str | None
    sha256: str
    score_threshold: float | None
    state: str
    cameras: tuple[str, ...]
    activated_at: float | None


@dataclass(frozen=True)
class Choice:
    """One model for one camera: the detector key, what candidates record, and the registry id."""

    key: str
    label: str
    sha256: str | None
    version_id: int | None = None


class Switchboard:
    """The registry's view for one worker, with a cheap change check."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.rows: list = []
        self._seen: tuple | None = None
        self._config_sha: dict[str, str] = {}

    def poll(self) -> bool:
        """Re-read the active and shadow versions; True when anything changed since the last poll."""
        with self.db.session() as s:
            rows = running(s)
            versions = [Version(r.id, r.ref, r.file, r.family, r.slot, r.sha256, r.score_threshold, r.state,
                                tuple(r.cameras or ()), r.activated_at) for r in rows]
        seen = tuple((v.id, v.state, v.cameras, v.activated_at) for v in versions)
        changed = seen != self._seen
        self._seen, self.rows = seen, versions
        return changed

    def config_choice(self, model_key: str) -> Choice:
        m = self.settings.models.get(model_key)
        if m is None:
            return Choice(model_key, model_key, None)
        if model_key not in self._config_sha:
            try:
                self._config_sha[model_key] = sha256_file(require_model(m.path, self.settings))
            except Exception:  # a missing file is reported by the detector build, not here
                self._config_sha[model_key] = ""
        return Choice(model_key, Path(m.path).name, self._config_sha[model_key] or None)

    def choices(self, camera: str, model_key: str, main: bool = True) -> tuple[Choice, list[Choice]]:
        """(active, shadows) of this camera's configured model model_key: its `model` (main), else an extra model."""
        a = model_assignment(self.rows, camera, model_key, main)  # type: ignore[arg-type]
        active = self._choice(a.active, model_key) if a.active is not None else self.config_choice(model_key)
        return active, [self._choice(v, model_key) for v in a.shadows]

    @staticmethod
    def _choice(v: Version, model_key: str) -> Choice:
        return Choice(f"{v.ref}|{model_key}", v.ref, v.sha256, v.id)

    def build(self, choice: Choice, model_key: str) -> OnnxDetector:
        """The detector of a registry choice, with the options of the camera's configured model."""
        v = next(r for r in self.rows if r.id == choice.version_id)
        m = self.settings.models[model_key]
        return OnnxDetector(require_model(v.file, self.settings), family=v.family or m.family,
                            score_threshold=m.score_threshold if v.score_threshold is None else v.score_threshold,
                            nms_iou=m.nms_iou, threads=m.threads, max_batch=m.max_batch,
                            frames_per_call=m.frames_per_call, rect=m.rect)
