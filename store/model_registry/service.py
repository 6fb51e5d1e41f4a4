"""The registry's rules: register a model file, move versions through
`candidate → shadow → active → retired`, and say which model each camera runs and shadows.

A version stands in for one configured model, its `slot`: a key of `models` (e.g. `garbage`, run as
a camera's extra model), or None for each camera's own `model`. Moves act within one slot, and a
version has no effect on a camera that does not run its slot.

Every move is one transaction with its audit entry, so the log holds exactly the switches that
happened. Errors are RegistryError: one line naming the problem and the command to run next.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from streetwarden.store import audit
from streetwarden.store.model_registry.models import ModelVersion
from streetwarden.store.schema import now

STATES = ("candidate", "shadow", "active", "retired")
_REF_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,99})@([0-9]{1,9})$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAIN = "the cameras' own model"  # how the slot None is named to users

Cameras = Mapping[str, Collection[str]]
"""The cameras a move may name, each with the keys of `models` it runs (its `model` and `extra_models`)."""


class RegistryError(ValueError):
    """A registry request that cannot be done, phrased for the user (`code` for the API)."""

    def __init__(self, message: str, code: str = "model_state") -> None:
        super().__init__(message)
        self.code = code


def parse_ref(ref: str) -> tuple[str, int]:
    m = _REF_RE.match(ref.strip())
    if not m:
        raise RegistryError(f"'{ref}' is not NAME@VERSION (e.g. garbage@2); `streetwarden models list` shows them",
                            "model_ref_invalid")
    return m.group(1), int(m.group(2))


def get(s: Session, ref: str) -> ModelVersion:
    name, version = parse_ref(ref)
    row = s.scalar(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version))
    if row is None:
        known = s.scalars(select(ModelVersion.version).where(ModelVersion.name == name)
                          .order_by(ModelVersion.version)).all()
        hint = (f"{name} has versions {', '.join(map(str, known))}" if known
                else f"no model named {name} is registered: `streetwarden models register FILE --name {name}` first")
        raise RegistryError(f"unknown model {ref}: {hint}", "model_not_registered")
    return row


def as_json(r: ModelVersion) -> dict:
    return {"ref": r.ref, "name": r.name, "version": r.version, "state": r.state, "cameras": list(r.cameras or []),
            "slot": r.slot, "file": r.file, "sha256": r.sha256, "family": r.family, "score_threshold": r.score_threshold,
            "metrics": r.metrics or {}, "registered_at": r.registered_at, "activated_at": r.activated_at,
            "previous": r.previous_id}


def versions(s: Session) -> list[ModelVersion]:
    return list(s.scalars(select(ModelVersion).order_by(ModelVersion.name, ModelVersion.version)).all())


def next_version(s: Session, name: str) -> int:
    return (s.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.name == name)) or 0) + 1


def check_family(s: Session, name: str, family: str | None) -> None:
    """Every version of a name is of one family (a YOLOv8 file as YOLOX v2 would decode garbage boxes)."""
    earlier = s.scalar(select(ModelVersion).where(ModelVersion.name == name).order_by(ModelVersion.version.desc()))
    if earlier is not None and earlier.family and family and earlier.family != family:
        raise RegistryError(f"{name}@{earlier.version} is a {earlier.family} model and this file is {family}: a version "
                            f"must be of its name's family; register it under its own --name", "model_wrong_family")


def slot_words(slot: str | None) -> str:
    return f"slot {slot}" if slot else MAIN


def check_slot_key(slot: str | None, keys: Collection[str] | None) -> None:
    """A slot is a key of the configuration's `models` (keys None: no configuration to check against)."""
    if slot is None:
        return
    if not NAME_RE.match(slot) or (keys is not None and slot not in keys):
        raise RegistryError(f"--slot: '{slot}' is not a key of `models` in the configuration (keys: "
                            f"{', '.join(sorted(keys or [])) or 'none'}); leave it out for {MAIN}", "model_slot_unknown")


def check_slot(s: Session, name: str, slot: str | None) -> None:
    """Every version of a name stands in for one slot (a rollback within the name must stay in it)."""
    earlier = s.scalar(select(ModelVersion).where(ModelVersion.name == name).order_by(ModelVersion.version.desc()))
    if earlier is not None and earlier.slot != slot:
        raise RegistryError(f"{earlier.ref} stands in for {slot_words(earlier.slot)} and this one for "
                            f"{slot_words(slot)}: the versions of a name share one slot; register it under its "
                            f"own --name", "model_wrong_slot")


def add_version(s: Session, name: str, file: str, sha256: str, family: str | None, card: dict, metrics: dict,
                score_threshold: float | None, actor: str, reason: str | None, slot: str | None = None) -> ModelVersion:
    """A new `candidate` version of `name` for `slot` (its file already checked and in the model store)."""
    check_family(s, name, family)
    check_slot(s, name, slot)
    row = ModelVersion(name=name, version=next_version(s, name), file=file, sha256=sha256, family=family, slot=slot,
                       card=card, metrics=metrics, score_threshold=score_threshold, state="candidate", cameras=[],
                       shadow_cameras=[], registered_at=now())
    s.add(row)
    s.flush()
    audit.record(s, "model.register", actor=actor, target_type="model", target_id=row.ref, sha256=sha256,
                 file=file, family=family, slot=slot, reason=reason)
    return row


def _illegal(row: ModelVersion, move: str, hint: str) -> RegistryError:
    return RegistryError(f"{row.ref} is {row.state}{_scope_words(row)}: it cannot be {move}; {hint}", "model_state")


def _scope_words(row: ModelVersion) -> str:
    if row.state in ("shadow", "active"):
        return f" on {', '.join(row.cameras)}" if row.cameras else " on every camera"
    return ""


def _cameras(cameras: list[str] | None, known: Cameras | None, slot: str | None = None) -> list[str]:
    """The scope, sorted; every camera known and (a slot) running that slot."""
    out = sorted({c.strip() for c in cameras or [] if c.strip()})
    if known is not None:
        unknown = [c for c in out if c not in known]
        if unknown:
            raise RegistryError(f"--cameras: unknown camera {', '.join(unknown)} (known: {', '.join(sorted(known)) or 'none'})",
                                "model_camera_unknown")
        idle = [c for c in out if slot is not None and slot not in known[c]]
        if idle:
            raise RegistryError(f"--cameras: camera {idle[0]} does not run slot {slot} (its models: "
                                f"{', '.join(known[idle[0]]) or 'none'}); name only cameras with {slot} as `model` "
                                f"or in `extra_models`", "model_slot_not_run")
    return out


def _same_slot(slot: str | None) -> ColumnElement[bool]:
    return ModelVersion.slot.is_(None) if slot is None else ModelVersion.slot == slot


def shadow(s: Session, ref: str, cameras: list[str], actor: str, reason: str | None,
           known: Cameras | None = None) -> ModelVersion:
    """Run `ref` beside the active model of its slot on `cameras`, recording what it would raise."""
    row = get(s, ref)
    scope = _cameras(cameras, known, row.slot)
    if not scope:
        raise RegistryError(f"shadow {ref}: name the cameras to shadow on (--cameras a,b)", "model_camera_unknown")
    if row.state not in ("candidate", "shadow"):
        raise _illegal(row, "shadowed", f"register the file again for a new version to shadow"
                       if row.state == "retired" else f"`streetwarden models rollback` takes it out of service")
    before = list(row.cameras or [])
    if row.state == "candidate":
        row.shadow_since = now()
    row.state, row.cameras, row.shadow_cameras = "shadow", scope, scope
    audit.record(s, "model.shadow", actor=actor, target_type="model", target_id=row.ref, cameras=scope,
                 before=before, slot=row.slot, reason=reason)
    return row


def promote(s: Session, ref: str, cameras: list[str] | None, actor: str, reason: str | None,
            known: Cameras | None = None) -> ModelVersion:
    """Make `ref` the active model of its slot on `cameras` (none: every camera); the version of that slot
    it replaces is retired and remembered, so `rollback` can bring it back."""
    row = get(s, ref)
    scope = _cameras(cameras, known, row.slot)
    if row.state not in ("candidate", "shadow"):
        hint = ("`streetwarden models rollback` goes back to the version it replaced" if row.state == "active"
                else "register the file again for a new version, or `streetwarden models rollback` if it was the previous active")
        raise _illegal(row, "promoted", hint)
    t = now()
    replaced: ModelVersion | None = None
    for other in s.scalars(select(ModelVersion).where(ModelVersion.state == "active", ModelVersion.id != row.id,
                                                      _same_slot(row.slot))
                           .order_by(ModelVersion.activated_at.desc())).all():
        theirs = list(other.cameras or [])
        if not scope or theirs == scope:
            left: list[str] = []
        elif not theirs:
            continue  # a camera-scoped promotion overrides the global active only on its cameras
        else:
            left = [c for c in theirs if c not in scope]
            if left == theirs:
                continue  # no camera in common
        if left:
            other.cameras = left
        else:
            other.state, other.retired_at = "retired", t
        if replaced is None:
            replaced = other
    if row.state == "shadow":
        row.shadow_until = t
    row.state, row.cameras, row.activated_at = "active", scope, t
    row.previous_id = replaced.id if replaced is not None else None
    audit.record(s, "model.promote", actor=actor, target_type="model", target_id=row.ref, cameras=scope,
                 replaced=replaced.ref if replaced is not None else None, slot=row.slot, reason=reason)
    return row


def rollback(s: Session, cameras: list[str] | None, actor: str, reason: str | None,
             known: Cameras | None = None, slot: str | None = None) -> tuple[ModelVersion, ModelVersion | None]:
    """Retire the version of `slot` active on exactly this scope and bring back the one it replaced (none:
    the configuration file's model runs again). Returns (retired, restored)."""
    scope = _cameras(cameras, known)
    actives = s.scalars(select(ModelVersion).where(ModelVersion.state == "active", _same_slot(slot))
                        .order_by(ModelVersion.activated_at.desc())).all()
    row = next((r for r in actives if list(r.cameras or []) == scope), None)  # JSON lists: compared here
    if row is None:
        where = f"cameras {', '.join(scope)}" if scope else "every camera (no --cameras)"
        listed = [f"{r.ref}{_scope_words(r)}" for r in actives]
        others = sorted({slot_words(r.slot) for r in s.scalars(select(ModelVersion).where(ModelVersion.state == "active"))
                         if r.slot != slot})
        hint = f" (active in other slots: {', '.join(others)}; give --slot)" if others and not listed else ""
        raise RegistryError(f"nothing to roll back: no version of {slot_words(slot)} is active for {where}"
                            + (f"; active: {'; '.join(listed)} (give the same --cameras)" if listed
                               else f"; the configuration's models run{hint}"), "model_state")
    t = now()
    restored = s.get(ModelVersion, row.previous_id) if row.previous_id else None
    row.state, row.retired_at = "retired", t
    if restored is not None and restored.state == "active":  # it still runs elsewhere: these cameras again too
        restored.cameras = sorted({*restored.cameras, *scope}) if restored.cameras and scope else []
    elif restored is not None:
        restored.state, restored.cameras, restored.activated_at, restored.retired_at = "active", scope, t, None
    audit.record(s, "model.rollback", actor=actor, target_type="model", target_id=row.ref, cameras=scope,
                 restored=restored.ref if restored is not None else "configuration", slot=slot, reason=reason)
    return row, restored


@dataclass(frozen=True)
class Assignment:
    """What one camera runs in one slot: the active registry version (None: its configured model) and
    the shadows beside it."""

    active: ModelVersion | None
    shadows: tuple[ModelVersion, ...]


def running(s: Session) -> list[ModelVersion]:
    """Active and shadow versions (the few rows a worker polls)."""
    return list(s.scalars(select(ModelVersion).where(ModelVersion.state.in_(("active", "shadow")))
                          .order_by(ModelVersion.id)).all())


def assignment(rows: list[ModelVersion], camera: str, slot: str | None = None) -> Assignment:
    """The camera's versions of one slot (None: its own `model`); a version active on this camera by
    name wins over one active on every camera."""
    rows = [r for r in rows if r.slot == slot]
    actives = [r for r in rows if r.state == "active" and camera in (r.cameras or [])] or \
        [r for r in rows if r.state == "active" and not r.cameras]
    active = max(actives, key=lambda r: r.activated_at or 0.0) if actives else None
    shadows = tuple(r for r in rows if r.state == "shadow" and camera in (r.cameras or []))
    return Assignment(active, shadows)


def model_assignment(rows: list[ModelVersion], camera: str, key: str, main: bool) -> Assignment:
    """What runs as the camera's configured model `key` (main: it is the camera's `model`): the versions
    of slot `key`; for the main model also those of slot None, a version naming the key winning."""
    named = assignment(rows, camera, key)
    if not main:
        return named
    own = assignment(rows, camera, None)
    return Assignment(named.active or own.active, own.shadows + named.shadows)
