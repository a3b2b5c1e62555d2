"""Webhooks: an organisation's owner registers an endpoint (secret shown once), the market events
addressed to the organisation are queued for it, sent signed to the checked address, retried
with back-off, and logged for the organisation. No test reaches the network."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.database import utcnow
from market.webhooks import service, signing, urlguard
from market.webhooks.models import WebhookDelivery
from tests.market.rfqs.test_rfq_flow import Market, code, new_market
from tests.support import Actor, Api

WEBHOOKS = "/api/v1/webhooks"
PUBLIC = "93.184.216.34"
DNS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    DNS.clear()
    DNS.update({"hooks.example.com": PUBLIC})

    def resolve(host: str, port: int) -> list[urlguard.IPAddress]:
        if host not in DNS:
            raise OSError("name does not resolve")
        return [ipaddress.ip_address(DNS[host])]

    monkeypatch.setattr(urlguard, "resolve", resolve)
    return DNS


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def register(api: Api, owner: Actor, **body: Any) -> httpx.Response:
    payload = {"url": "https://hooks.example.com/iimarket", "topics": ["rfq", "quote"], **body}
    return api.client.post(WEBHOOKS, json=payload, headers=owner.headers)


class Receiver:
    """An httpx transport standing in for the customer's server."""

    def __init__(self, *answers: int | Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers) or [200]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            return answer(request)
        return httpx.Response(answer, text="ok" if answer < 300 else "nope")

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self), follow_redirects=False)


def send_due(api: Api, receiver: Receiver, *, later: timedelta = timedelta(0)) -> int:
    with api.db.transaction() as session, receiver.client() as client:
        return service.deliver_due(session, client=client, now=utcnow() + later)


def deliveries(api: Api) -> list[WebhookDelivery]:
    with api.db.transaction() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at))
        found = list(rows)
        session.expunge_all()
        return found


# --- signing -------------------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"event":"rfq.invited"}'

    signature = signing.sign("whsec_test", 1_700_000_000, body)

    expected = hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"


def test_a_receiver_verifies_fresh_untampered_requests_only() -> None:
    body = b'{"event":"quote.submitted"}'
    signature = signing.sign("whsec_test", 1_700_000_000, body)

    def ok(**changes: Any) -> bool:
        args: dict[str, Any] = {
            "timestamp": "1700000000",
            "body": body,
            "signature": signature,
            "now": 1_700_000_100,
        }
        args.update(changes)
        return signing.verify("whsec_test", **args)

    assert ok()
    assert not ok(body=b'{"event":"quote.accepted"}')
    assert not ok(timestamp="1700000001")
    assert not ok(now=1_700_000_000 + 301)  # too old: a replay
    assert not ok(signature="sha256=" + "0" * 64)
    assert not ok(timestamp="yesterday")
    assert not signing.verify(
        "whsec_other", timestamp="1700000000", body=body, signature=signature, now=1_700_000_000
    )


def test_back_off_doubles_from_thirty_seconds_up_to_six_hours() -> None:
    delays = [service.retry_delay(n).total_seconds() for n in range(1, 12)]

    assert delays[:5] == [30, 60, 120, 240, 480]
    assert delays[-1] == 6 * 3600
    assert delays == sorted(delays)


# --- registering ---------------------------------------------------------------------------------


def test_an_owner_registers_an_endpoint_and_sees_its_secret_once(api: Api) -> None:
    owner = api.sme()

    response = register(api, owner, description="ERP 集成")

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["topics"] == ["quote", "rfq"]
    listed = api.client.get(WEBHOOKS, headers=owner.headers).json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://[::ffff:10.0.0.1]/",
        "file:///etc/passwd",
        "https://unknown.example.net/",
    ],
)
def test_registration_refuses_unsafe_addresses(api: Api, url: str) -> None:
    response = register(api, api.sme(), url=url)

    assert response.status_code == 422
    assert code(response) == "unsafe_webhook_url"


def test_registration_refuses_names_pointing_inside(api: Api) -> None:
    DNS["sneaky.example.com"] = "192.168.0.10"

    response = register(api, api.sme(), url="https://sneaky.example.com/hook")

    assert response.status_code == 422
    assert "private" in response.json()["error"]["message"]


def test_topics_come_from_the_fixed_list(api: Api) -> None:
    response = register(api, api.sme(), topics=["catalog"])

    assert response.status_code == 422


# --- queueing and sending ------------------------------------------------------------------------


def test_market_events_for_the_organisation_are_sent_signed_to_the_checked_address(
    market: Market, api: Api
) -> None:
    provider = market.provider()
    secret = register(api, provider, topics=["rfq"]).json()["secret"]
    sme = market.sme()
    rfq = market.rfq(sme, [provider])
    receiver = Receiver(200)

    assert send_due(api, receiver) == 1

    request = receiver.requests[0]
    # Connected to the address that was checked, naming the host for HTTP and TLS.
    assert request.url.host == PUBLIC
    assert request.url.path == "/iimarket"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers[signing.EVENT_HEADER] == "rfq.invited"
    body = request.content
    assert signing.verify(
        secret,
        timestamp=request.headers[signing.TIMESTAMP_HEADER],
        body=body,
        signature=request.headers[signing.SIGNATURE_HEADER],
        now=int(utcnow().timestamp()),
    )
    document = json.loads(body)
    assert document["event"] == "rfq.invited"
    assert document["data"]["rfq_id"] == rfq["id"]
    assert "recipients" not in document["data"]
    assert request.headers[signing.DELIVERY_HEADER] == document["id"]
    [row] = deliveries(api)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    # Nothing is due any more.
    assert send_due(api, receiver) == 0


def test_only_subscribed_families_of_addressed_organisations_are_queued(
    market: Market, api: Api
) -> None:
    invited, bystander = market.provider(), market.provider()
    register(api, invited, topics=["dispute"])
    register(api, bystander, topics=["rfq"])

    market.rfq(market.sme(), [invited])

    assert deliveries(api) == []


def test_failures_are_retried_with_back_off_until_delivered(market: Market, api: Api) -> None:
    provider = market.provider()
    register(api, provider, topics=["rfq"])
    market.rfq(market.sme(), [provider])
    receiver = Receiver(500, 503, 200)

    send_due(api, receiver)
    [first] = deliveries(api)
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    assert first.next_attempt_at is not None
    wait = first.next_attempt_at - utcnow()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)
    assert send_due(api, receiver) == 0  # not due yet

    send_due(api, receiver, later=timedelta(seconds=31))
    [second] = deliveries(api)
    assert (second.attempts, second.last_status_code) == (2, 503)
    assert "HTTP 503" in second.last_error

    send_due(api, receiver, later=timedelta(seconds=31 + 61))
    [done] = deliveries(api)
    assert (done.status, done.attempts, done.last_error) == ("delivered", 3, "")
    assert len(receiver.requests) == 3


def test_delivery_gives_up_after_the_last_attempt(market: Market, api: Api) -> None:
    provider = market.provider()
    register(api, provider, topics=["rfq"])
    market.rfq(market.sme(), [provider])
    receiver = Receiver(500)

    for day in range(service.MAX_ATTEMPTS):
        send_due(api, receiver, later=timedelta(days=day))

    [row] = deliveries(api)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", service.MAX_ATTEMPTS, None)
    assert send_due(api, receiver, later=timedelta(days=30)) == 0


def test_redirects_are_not_followed(market: Market, api: Api) -> None:
    provider = market.provider()
    register(api, provider, topics=["rfq"])
    market.rfq(market.sme(), [provider])
    receiver = Receiver(
        lambda r: httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})
    )

    send_due(api, receiver)

    assert len(receiver.requests) == 1
    [row] = deliveries(api)
    assert (row.status, row.last_status_code) == ("pending", 302)
    assert "redirect not followed" in row.last_error


def test_the_address_is_checked_again_at_delivery(market: Market, api: Api) -> None:
    provider = market.provider()
    register(api, provider, topics=["rfq"])
    market.rfq(market.sme(), [provider])
    DNS["hooks.example.com"] = "127.0.0.1"  # the name was re-pointed after registration
    receiver = Receiver(200)

    send_due(api, receiver)

    assert receiver.requests == []
    [row] = deliveries(api)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("refused:")
    assert "loopback" in row.last_error


def test_connection_errors_are_retried(market: Market, api: Api) -> None:
    provider = market.provider()
    register(api, provider, topics=["rfq"])
    market.rfq(market.sme(), [provider])

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    send_due(api, Receiver(unreachable))

    [row] = deliveries(api)
    assert (row.status, row.last_status_code) == ("pending", None)
    assert "ConnectTimeout" in row.last_error


def test_the_delivery_log_is_visible_to_the_organisation_only(market: Market, api: Api) -> None:
    provider = market.provider()
    endpoint = register(api, provider, topics=["rfq"]).json()
    market.rfq(market.sme(), [provider])
    send_due(api, Receiver(200))

    log = api.client.get(f"{WEBHOOKS}/deliveries", headers=provider.headers).json()

    assert [(d["topic"], d["status"]) for d in log["items"]] == [("rfq.invited", "delivered")]
    assert log["items"][0]["endpoint_id"] == endpoint["id"]
    stranger = api.client.get(f"{WEBHOOKS}/deliveries", headers=market.provider().headers)
    assert stranger.json()["items"] == []
    other = api.client.get(
        f"{WEBHOOKS}/deliveries?endpoint_id={endpoint['id']}",
        headers=market.provider().headers,
    )
    assert other.status_code == 404


def test_deleting_an_endpoint_stops_deliveries(market: Market, api: Api) -> None:
    provider = market.provider()
    endpoint = register(api, provider, topics=["rfq"]).json()

    deleted = api.client.delete(f"{WEBHOOKS}/{endpoint['id']}", headers=provider.headers)
    market.rfq(market.sme(), [provider])

    assert deleted.status_code == 204
    assert deliveries(api) == []
    assert api.client.get(WEBHOOKS, headers=provider.headers).json() == []


def test_a_replayed_event_is_queued_once(market: Market, api: Api) -> None:
    from core.outbox import OutboxEvent

    provider = market.provider()
    register(api, provider, topics=["rfq"])
    market.rfq(market.sme(), [provider])

    with api.db.transaction() as session:
        event = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "notify.rfq.invited")
        ).one()
        assert service.queue(session, event) == 0
    assert len(deliveries(api)) == 1


def test_unknown_endpoint_is_not_found(api: Api) -> None:
    response = api.client.delete(f"{WEBHOOKS}/{uuid.uuid4()}", headers=api.sme().headers)

    assert response.status_code == 404
    assert code(response) == "webhook_not_found"
