"""Where e-mail goes: an SMTP server named by ``MARKET_SMTP_URL``, or the log.

``smtp://[user:password@]host[:port][?starttls=1&from=address]`` talks plain SMTP (port 25
unless given), upgraded with STARTTLS when asked; ``smtps://`` uses TLS from the start (port
465). Without the setting, messages are logged, which is what development and tests want.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

DEFAULT_FROM = "iimarket <noreply@iimarket.local>"
TIMEOUT_SECONDS = 10.0


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class ConsoleBackend:
    """Logs each message instead of sending it."""

    sender = DEFAULT_FROM

    def send(self, message: EmailMessage) -> None:
        log.info("e-mail to %s: %s\n%s", message["To"], message["Subject"], message.get_content())


@dataclass(frozen=True)
class SmtpBackend:
    host: str
    port: int
    use_tls: bool
    starttls: bool
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def from_url(cls, url: str) -> SmtpBackend:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "MARKET_SMTP_URL must look like smtp://user:password@host:587?starttls=1 "
                "or smtps://host:465"
            )
        query = parse_qs(parts.query)
        use_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            use_tls=use_tls,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", [DEFAULT_FROM])[0],
        )

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.use_tls:
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
        with client:
            if self.starttls:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)


def backend_for(smtp_url: str | None) -> SmtpBackend | ConsoleBackend:
    return SmtpBackend.from_url(smtp_url) if smtp_url else ConsoleBackend()
