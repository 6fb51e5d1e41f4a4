"""What a valid configuration still needs from the machine before `run` / `serve` can use it.

Validation (config.py) checks the file on its own; these checks look outside it: model files,
file sources, and the environment variables that `*_env` fields name. `config-doc --config FILE`
reports them all at once, one line per problem naming the field, instead of the first failure
`run` would meet.
"""

from __future__ import annotations

import os
from pathlib import Path

from streetwarden.config import Settings


def check_settings(settings: Settings, origin: str) -> list[str]:
    """Every problem found, as `origin: field: what is wrong (what to do)`; empty when all is well."""
    return [f"{origin}: {line}" for line in (*_models(settings), *_cameras(settings), *_webhooks(settings))]


def _models(settings: Settings) -> list[str]:
    """Models the enabled cameras use (their own and extra ones), and every model the file lists itself."""
    keys = {k for c in settings.cameras if c.enabled for k in c.model_keys}
    if "models" in settings.model_fields_set:
        keys |= set(settings.models)
    from streetwarden.models.store import locate, missing_hint  # the CLI layer: stages may be used here

    out = []
    for key in sorted(keys):
        model = settings.models[key]
        found = locate(model.path, settings)
        if found.place is None:
            out.append(f"models.{key}.path: {missing_hint(model.path, settings)}")
        elif not os.access(found.path, os.R_OK):
            out.append(f"models.{key}.path: model file not readable: {found.path} (check its permissions)")
    return out


def _cameras(settings: Settings) -> list[str]:
    out = []
    for i, cam in enumerate(settings.cameras):
        if not cam.enabled:
            continue
        where = f"cameras[{i}]({cam.id})"
        if cam.live:
            if cam.password_env and cam.password_env not in os.environ:
                out.append(f"{where}.password_env: environment variable {cam.password_env} is not set "
                           "(export the camera's password in it before starting)")
            continue
        source = Path(settings.camera_source(cam))
        if not source.exists():
            out.append(f"{where}.source: no such file or folder: {source} (relative paths start at the config file's folder)")
        elif not os.access(source, os.R_OK):
            out.append(f"{where}.source: not readable: {source} (check its permissions)")
    return out


def _webhooks(settings: Settings) -> list[str]:
    if not settings.webhooks.url:
        return []
    try:
        settings.webhooks.secret()
    except ValueError as err:
        return [f"webhooks.{err}"]
    return []
