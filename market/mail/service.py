"""Notification e-mails: the events a user opted into, sent to their address.

Nobody gets e-mail by default; each user picks the kinds they want (``CHOICES``). The outbox
subscriber below reads the same ``notify.*`` events and recipients as the inbox and words them
the same way. A failure to send is logged, not retried: the inbox already holds the notice, and
retrying the event would repeat the messages that did go out.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.deps import Principal
from core.outbox import Handler, OutboxEvent
from core.settings import get_settings
from market.accounts.models import User
from market.inbox import service as inbox
from market.inbox import subscribers as _inbox_wording  # noqa: F401 - registers market wording
from market.mail.backend import ConsoleBackend, MailBackend, SmtpBackend, backend_for
from market.mail.models import MailPreference

log = logging.getLogger(__name__)

# Choice → the topics (without "notify.") it covers; a trailing "." covers a whole family.
CHOICES: dict[str, tuple[str, ...]] = {
    "rfq_invitations": ("rfq.invited", "rfq.deadline_extended", "rfq.cancelled"),
    "quotes": ("quote.submitted", "quote.accepted", "rfq.closed", "invitation.declined"),
    "engagements": ("engagement.",),
    "disputes": ("dispute.",),
}


def choice_of(topic: str) -> str | None:
    name = topic.removeprefix("notify.")
    for choice, covered in CHOICES.items():
        if any(name == t or (t.endswith(".") and name.startswith(t)) for t in covered):
            return choice
    return None


def get_choices(session: Session, *, principal: Principal) -> list[str]:
    row = session.get(MailPreference, principal.user_id)
    return sorted(row.topics) if row else []


def set_choices(session: Session, *, principal: Principal, choices: list[str]) -> list[str]:
    wanted = sorted(set(choices))
    row = session.get(MailPreference, principal.user_id)
    if row is None:
        session.add(MailPreference(user_id=principal.user_id, topics=wanted))
    else:
        row.topics = wanted
    session.flush()
    return wanted


def current_backend() -> MailBackend:
    backend: SmtpBackend | ConsoleBackend = backend_for(get_settings().smtp_url)
    return backend


def compose(sender: str, to: str, topic: str, payload: dict[str, Any]) -> EmailMessage:
    title, body = inbox.render(topic, payload)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"[iimarket] {title}"
    message.set_content(body or title)
    return message


def send_for_event(session: Session, event: OutboxEvent, backend: MailBackend) -> int:
    """Mail every recipient of the event who opted into its kind; returns how many were sent."""
    choice = choice_of(event.topic)
    if choice is None:
        return 0
    people = inbox.recipients(session, event.payload.get("recipients") or {})
    if not people:
        return 0
    rows = session.execute(
        select(User.email, MailPreference.topics)
        .join(MailPreference, MailPreference.user_id == User.id)
        .where(User.id.in_(people))
        .order_by(User.email)
    )
    sender = getattr(backend, "sender", ConsoleBackend.sender)
    sent = 0
    for email, topics in rows:
        if choice not in topics:
            continue
        try:
            backend.send(compose(sender, email, event.topic, event.payload))
            sent += 1
        except Exception:  # one bad address or a server hiccup must not block the others
            log.exception("notification e-mail for event %s to %s failed", event.id, email)
    return sent


def on_notify(session: Session, event: OutboxEvent) -> None:
    send_for_event(session, event, current_backend())


SUBSCRIPTIONS: list[tuple[str, Handler]] = [("notify", on_notify)]
