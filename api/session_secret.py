"""The session-signing secret of `serve`: from the environment, else one kept in the storage folder.

Browser sessions are cookies signed with this secret, so a secret made anew at every start would log
every reviewer out on a restart. Without ``$STREETWARDEN_SECRET`` (``server.secret_env``) the first
start makes a random one and keeps it in ``<storage>/session-secret`` (mode 0600, written to a
temporary file and linked into place, so two processes starting at once end up with the same one and
no process ever reads a half-written file). The value is never logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from streetwarden.logs import event
from streetwarden.redact import register_secret

log = logging.getLogger("streetwarden.serve")
SECRET_FILE = "session-secret"
MIN_LENGTH = 16


class SecretError(ValueError):
    """The secret cannot be had; the message says which variable or file and what to do."""


def session_secret(env_name: str, storage: Path) -> str:
    """The secret from ``$env_name`` if set (it wins), else the storage folder's, made on first use."""
    value = os.environ.get(env_name, "")
    if value:
        if len(value) < MIN_LENGTH:
            raise SecretError(f"${env_name} is too short: use at least {MIN_LENGTH} random characters")
        event(log, "session_secret", source="environment", env=env_name)
    else:
        path = storage / SECRET_FILE
        value, created = _read(path), False
        if value is None:
            value, created = _create(path), True
        event(log, "session_secret", source="file", path=str(path), created=created,
              hint=f"kept for restarts; ${env_name} overrides it")
    register_secret(value)
    return value


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SecretError(f"{path}: cannot read the session secret ({err.strerror}); fix its permissions "
                          "or delete it to have a new one made") from None
    if len(text) < MIN_LENGTH:
        raise SecretError(f"{path}: holds no valid session secret (under {MIN_LENGTH} characters); "
                          "delete it to have a new one made (this logs everyone out)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        event(log, "session_secret_permissions_fixed", logging.WARNING, path=str(path), was=oct(mode))
    return text


def _create(path: Path) -> str:
    """Write a new secret atomically; if another process got there first, use its secret."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        value = secrets.token_urlsafe(32)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            os.write(fd, (value + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # unlike a rename, never replaces a secret another process made meanwhile
        except FileExistsError:
            existing = _read(path)
            if existing is None:
                raise SecretError(f"{path}: vanished while being created; start again") from None
            return existing
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as err:
        raise SecretError(f"{path}: cannot keep the session secret there ({err.strerror}); make the `storage` "
                          "folder writable or set the secret's environment variable") from None
    return value
