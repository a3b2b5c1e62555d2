"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<body>"`` with the endpoint's secret.

The timestamp is signed too, so a receiver that refuses old timestamps also refuses replays of
a captured request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-IIMarket-Signature"
TIMESTAMP_HEADER = "X-IIMarket-Timestamp"
EVENT_HEADER = "X-IIMarket-Event"
DELIVERY_HEADER = "X-IIMarket-Delivery"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: a fresh timestamp and a signature equal in constant time."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)
