"""Password hashing and opaque token handling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from core.settings import get_settings


@cache
def _hasher(env: str) -> PasswordHash:
    if env == "test":
        # Still Argon2id, but cheap: the suite logs in hundreds of times.
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher(get_settings().env).hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher(get_settings().env).verify(password, password_hash)


def burn_password_check() -> None:
    """Spend the same time as a real check so unknown e-mails do not answer faster."""
    verify_password("not-a-password", _dummy_hash())


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token: str, *, secret_key: str) -> str:
    """The CSRF token is derived from the session, so nothing extra is stored or can drift."""
    return hmac.new(
        secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def csrf_matches(session_token: str, candidate: str | None, *, secret_key: str) -> bool:
    expected = csrf_token_for(session_token, secret_key=secret_key)
    return bool(candidate) and hmac.compare_digest(expected, candidate or "")
