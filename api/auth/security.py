"""Password hashing (argon2id), random tokens and the signed session cookie."""

from __future__ import annotations

import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
_dummy: list[str] = []
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (no user enumeration by timing)."""
    try:
        if stored_hash is None and not _dummy:
            _dummy.append(_hasher.hash(secrets.token_hex(16)))
        return _hasher.verify(stored_hash or _dummy[0], password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class CookieSigner:
    """The session cookie carries the random session token, signed with the server secret."""

    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="streetwarden-session")

    def dumps(self, token: str) -> str:
        return self._s.dumps(token)

    def loads(self, value: str, max_age: float) -> str | None:
        try:
            token = self._s.loads(value, max_age=max_age)
        except (BadSignature, SignatureExpired):
            return None
        return token if isinstance(token, str) else None
