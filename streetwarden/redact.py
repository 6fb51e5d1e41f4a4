"""Keep camera passwords out of logs, errors and API responses."""

from __future__ import annotations

import re

_URL_CREDS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@")
_QUERY_PW = re.compile(r"(?i)((?:password|passwd|pwd|pass)=)[^&\s]*")


def mask_url(text: str) -> str:
    """Replace the password in every URL (user:pass@ or ?password=) with ***."""
    text = _URL_CREDS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _QUERY_PW.sub(r"\1***", text)


def mask_secrets(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """mask_url, plus any literal secret strings (e.g. a password a library echoes decoded)."""
    out = mask_url(text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "***")
    return out


_REGISTERED: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret (a camera password) so every log line masks it, however it is echoed."""
    if secret and len(secret) >= 3:
        import json
        from urllib.parse import quote

        _REGISTERED.update({secret, quote(secret, safe=""), json.dumps(secret, ensure_ascii=False)[1:-1]})


def mask_all(text: str) -> str:
    """mask_url plus every registered secret: what the log formatter applies to each line."""
    return mask_secrets(text, tuple(_REGISTERED)) if _REGISTERED else mask_url(text)
