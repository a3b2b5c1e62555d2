"""Notification e-mail: the SMTP backend against a fake local SMTP server, the console backend,
and who gets which e-mail (only users who opted into that kind)."""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from market.mail import backend as mail_backend
from market.mail import service as mail
from tests.market.engagements.test_engagements import new_deal
from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.support import Actor, Api


@dataclass
class Inbox:
    messages: list[dict[str, Any]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class FakeSmtpHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: greeting, EHLO, AUTH PLAIN, MAIL, RCPT, DATA."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        store: Inbox = self.server.store  # type: ignore[attr-defined]
        sender, rcpts = "", []
        self.reply("220 fake ESMTP")
        while raw := self.rfile.readline():
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-fake")
                self.reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                store.logins.append(line)
                self.reply("235 ok")
            elif verb == "MAIL":
                sender = line.split(":", 1)[1].strip()
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpts.append(line.split(":", 1)[1].strip())
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                store.messages.append({"from": sender, "to": rcpts, "data": data})
                rcpts = []
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeSmtpHandler)
    server.daemon_threads = True
    store = Inbox()
    server.store = store  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()


def _message(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@iimarket.test"
    message["To"] = "buyer@example.com"
    message["Subject"] = subject
    message.set_content("正文 body")
    return message


def test_the_smtp_url_configures_the_backend() -> None:
    backend = mail_backend.backend_for(
        "smtp://robot%40corp:p%40ss@mail.example.com:587?starttls=1&from=noreply@example.com"
    )

    assert isinstance(backend, mail_backend.SmtpBackend)
    assert (backend.host, backend.port, backend.starttls, backend.use_tls) == (
        "mail.example.com",
        587,
        True,
        False,
    )
    assert (backend.username, backend.password, backend.sender) == (
        "robot@corp",
        "p@ss",
        "noreply@example.com",
    )
    assert mail_backend.backend_for("smtps://mail.example.com").port == 465  # type: ignore[union-attr]
    assert isinstance(mail_backend.backend_for(None), mail_backend.ConsoleBackend)
    with pytest.raises(ValueError, match="MARKET_SMTP_URL"):
        mail_backend.backend_for("http://mail.example.com")


def test_the_smtp_backend_hands_the_message_to_the_server(
    smtp_server: tuple[str, Inbox],
) -> None:
    address, store = smtp_server
    backend = mail_backend.backend_for(f"smtp://robot:secret@{address}")

    backend.send(_message("收到报价 / Quote received"))

    [sent] = store.messages
    assert sent["to"] == ["<buyer@example.com>"]
    parsed = message_from_bytes(sent["data"], policy=policy.default)
    assert parsed["Subject"] == "收到报价 / Quote received"
    assert "正文 body" in parsed.get_content()  # type: ignore[attr-defined]
    assert store.logins
    assert store.logins[0].startswith("AUTH PLAIN")


def test_the_console_backend_logs_instead_of_sending(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="market.mail.backend"):
        mail_backend.ConsoleBackend().send(_message("调解结束 / Dispute closed"))

    assert "buyer@example.com" in caplog.text
    assert "调解结束 / Dispute closed" in caplog.text


@dataclass
class Captured:
    sender: str = "noreply@iimarket.test"
    sent: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Captured:
    captured = Captured()
    monkeypatch.setattr(mail, "current_backend", lambda: captured)
    return captured


def opt_in(api: Api, actor: Actor, *choices: str) -> None:
    response = api.client.put(
        "/api/v1/me/mail-preferences", json={"choices": list(choices)}, headers=actor.headers
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def test_provider_users_who_opted_in_get_rfq_invitations(
    market: Market, api: Api, outbox: Captured
) -> None:
    keen, quiet = market.provider(), market.provider()
    opt_in(api, keen, "rfq_invitations")

    rfq = market.rfq(market.sme(), [keen, quiet])

    assert [m["To"] for m in outbox.sent] == [keen.email]
    assert (
        outbox.sent[0]["Subject"] == f"[iimarket] 收到询价邀请 / New RFQ invitation：{rfq['title']}"
    )


def test_sme_users_get_quote_mail_and_providers_the_acceptance(
    market: Market, api: Api, outbox: Captured
) -> None:
    sme, provider = market.sme(), market.provider()
    opt_in(api, sme, "quotes")
    opt_in(api, provider, "quotes")

    market.awarded(sme, provider)

    sent = [(m["To"], str(m["Subject"]).split(" / ")[0]) for m in outbox.sent]
    assert (sme.email, "[iimarket] 收到报价") in sent
    assert (provider.email, "[iimarket] 报价已被接受") in sent


def test_dispute_updates_go_to_those_who_chose_them(
    market: Market, api: Api, outbox: Captured
) -> None:
    deal = new_deal(market)
    opt_in(api, deal.provider, "disputes")
    opt_in(api, market.curator, "disputes")
    opt_in(api, deal.sme, "quotes")

    api.client.post(
        f"{deal.url}/disputes",
        json={"category": "delay", "description": "延期"},
        headers=deal.sme.headers,
    )

    assert sorted(m["To"] for m in outbox.sent) == sorted(
        [deal.provider.email, market.curator.email]
    )
    assert all("发起调解 / Dispute opened" in str(m["Subject"]) for m in outbox.sent)


def test_a_failing_send_is_logged_and_the_others_still_go(
    market: Market, api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = market.provider(), market.provider()
    opt_in(api, first, "rfq_invitations")
    opt_in(api, second, "rfq_invitations")
    delivered: list[str] = []

    class Flaky:
        sender = "noreply@iimarket.test"

        def send(self, message: EmailMessage) -> None:
            if message["To"] == first.email:
                raise OSError("mailbox unavailable")
            delivered.append(str(message["To"]))

    monkeypatch.setattr(mail, "current_backend", Flaky)

    with caplog.at_level(logging.ERROR, logger="market.mail.service"):
        market.rfq(market.sme(), [first, second])

    assert delivered == [second.email]
    assert "failed" in caplog.text


def test_unknown_choices_are_refused(api: Api) -> None:
    response = api.client.put(
        "/api/v1/me/mail-preferences", json={"choices": ["everything"]}, headers=api.sme().headers
    )

    assert response.status_code == 422
