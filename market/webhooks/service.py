"""Webhook endpoints of an organisation, the queue of deliveries and the sending pass.

Organisation administrators (the owners) register and delete endpoints; every member of the
organisation reads them and the delivery log. Curators and admins have no webhooks.

Each ``notify.*`` event of the families an endpoint subscribed to, addressed to its
organisation, becomes a delivery row (the outbox subscriber below). ``deliver_due`` — run by
``market worker`` on every pass — sends due rows, signed, to the address checked again just
before sending; failures are retried with exponential back-off until MAX_ATTEMPTS.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.database import utcnow
from core.deps import Principal
from core.errors import Forbidden, NotFound
from core.outbox import Handler, OutboxEvent
from core.pagination import PageParams, paginate
from market.webhooks import signing, urlguard
from market.webhooks.models import TOPICS, WebhookDelivery, WebhookEndpoint
from market.webhooks.schemas import EndpointIn

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
TIMEOUT_SECONDS = 10.0
ERROR_MAX = 500
USER_AGENT = "iimarket-webhooks/1"


def _not_found() -> NotFound:
    return NotFound("No such webhook endpoint", code="webhook_not_found")


def _member(principal: Principal) -> None:
    if principal.role not in ("sme", "provider"):
        raise Forbidden(
            "Webhooks belong to SME and provider organisations; "
            f"you are logged in as {principal.role}",
            code="role_required",
        )


def _owner(principal: Principal) -> None:
    _member(principal)
    if not principal.is_org_admin:
        raise Forbidden(
            "Only your organisation's administrators can manage webhooks",
            code="org_admin_required",
        )


def register(session: Session, *, principal: Principal, data: EndpointIn) -> WebhookEndpoint:
    _owner(principal)
    target = urlguard.check(data.url)
    endpoint = WebhookEndpoint(
        org_id=principal.org_id,
        url=target.url,
        topics=sorted(set(data.topics)),
        secret=signing.new_secret(),
        description=data.description,
        created_by_user_id=principal.user_id,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session, *, principal: Principal) -> list[WebhookEndpoint]:
    _member(principal)
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == principal.org_id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def _own_endpoint(
    session: Session, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.org_id != principal.org_id:
        raise _not_found()
    return endpoint


def delete(session: Session, *, principal: Principal, endpoint_id: uuid.UUID) -> None:
    """Removes the endpoint and its delivery log; nothing more is sent to it."""
    _member(principal)
    endpoint = _own_endpoint(session, principal, endpoint_id)
    _owner(principal)
    session.delete(endpoint)
    session.flush()


def deliveries(
    session: Session, *, principal: Principal, endpoint_id: uuid.UUID | None, params: PageParams
) -> tuple[list[WebhookDelivery], int]:
    """The organisation's delivery log, newest first, for one endpoint or all of them."""
    _member(principal)
    stmt = select(WebhookDelivery).join(
        WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id
    )
    stmt = stmt.where(WebhookEndpoint.org_id == principal.org_id)
    if endpoint_id is not None:
        _own_endpoint(session, principal, endpoint_id)
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    order: list[ColumnElement[Any]] = [
        WebhookDelivery.created_at.desc(),
        WebhookDelivery.id.asc(),
    ]
    return paginate(session, stmt, params, order)


# --- queueing: the outbox subscriber -----------------------------------------------------------


def family(topic: str) -> str:
    return topic.removeprefix("notify.").split(".", 1)[0]


def queue(session: Session, event: OutboxEvent) -> int:
    """One delivery per endpoint of each addressed organisation subscribed to the family."""
    kind = family(event.topic)
    if kind not in TOPICS:
        return 0
    addressed = (event.payload.get("recipients") or {}).get("org_ids") or []
    org_ids = [uuid.UUID(str(o)) for o in addressed]
    if not org_ids:
        return 0
    endpoints = [
        e
        for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.org_id.in_(org_ids)))
        if kind in e.topics
    ]
    done = set(
        session.scalars(
            select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event.id)
        )
    )
    topic = event.topic.removeprefix("notify.")
    data = {k: v for k, v in event.payload.items() if k != "recipients"}
    added = 0
    for endpoint in endpoints:
        if endpoint.id in done:
            continue
        delivery_id = uuid.uuid4()
        document = {
            "id": str(delivery_id),
            "event": topic,
            "created_at": event.created_at.isoformat(),
            "data": data,
        }
        session.add(
            WebhookDelivery(
                id=delivery_id,
                endpoint_id=endpoint.id,
                event_id=event.id,
                topic=topic,
                payload=document,
                status="pending",
                next_attempt_at=utcnow(),
            )
        )
        added += 1
    session.flush()
    return added


def on_notify(session: Session, event: OutboxEvent) -> None:
    queue(session, event)


SUBSCRIPTIONS: list[tuple[str, Handler]] = [("notify", on_notify)]


# --- sending -----------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … doubling after each failed attempt, never more than 6 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def make_client() -> httpx.Client:
    # No proxies from the environment: the connection must go to the address we checked.
    return httpx.Client(follow_redirects=False, timeout=TIMEOUT_SECONDS, trust_env=False)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


def build_request(
    target: urlguard.Target, delivery: WebhookDelivery, secret: str, now: datetime
) -> httpx.Request:
    """A request to the checked address itself, naming the host in Host (and TLS SNI)."""
    body = body_of(delivery)
    timestamp = int(now.timestamp())
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    headers = {
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.sign(secret, timestamp, body),
        signing.EVENT_HEADER: delivery.topic,
        signing.DELIVERY_HEADER: str(delivery.id),
    }
    url = httpx.URL(target.url).copy_with(host=str(target.address))
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return httpx.Request("POST", url, headers=headers, content=body, extensions=extensions)


def _failed(delivery: WebhookDelivery, now: datetime, error: str, status: int | None) -> None:
    delivery.last_error = error[:ERROR_MAX]
    delivery.last_status_code = status
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)


def attempt(
    session: Session, delivery: WebhookDelivery, *, client: httpx.Client, now: datetime
) -> bool:
    """Send once; True when the receiver answered 2xx."""
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None  # deliveries go with their endpoint (ON DELETE CASCADE)
    delivery.attempts += 1
    try:
        target = urlguard.check(endpoint.url)
    except urlguard.UnsafeUrl as exc:
        _failed(delivery, now, f"refused: {exc.message}", None)
        return False
    try:
        response = client.send(build_request(target, delivery, endpoint.secret, now))
    except httpx.HTTPError as exc:
        _failed(delivery, now, f"{type(exc).__name__}: {exc}", None)
        return False
    if 200 <= response.status_code < 300:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_status_code = response.status_code
        delivery.last_error = ""
        return True
    note = "redirect not followed" if response.is_redirect else response.text[:200]
    _failed(delivery, now, f"HTTP {response.status_code}: {note}", response.status_code)
    return False


def deliver_due(
    session: Session, *, client: httpx.Client, now: datetime | None = None, batch: int = 50
) -> int:
    """Send the deliveries that are due; returns how many were attempted."""
    moment = now or utcnow()
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= moment)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    due = list(session.scalars(stmt))
    for delivery in due:
        attempt(session, delivery, client=client, now=moment)
    session.flush()
    return len(due)
