"""Dispute pages and webhook settings through the ASGI app: a party opens a dispute from its
engagement, everyone involved follows the thread, the curator mediates, the parties answer;
org owners register and delete webhook endpoints and read the delivery log."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalog.pools.storage import LocalDirectoryStorage
from market.webhooks import urlguard
from tests.market.engagements.test_engagements import Deal, new_deal
from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.market.web.test_pages import Browser, _text
from tests.support import Actor, Api

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


@pytest.fixture
def deal(market: Market) -> Deal:
    return new_deal(market)


def browser_for(client: TestClient, actor: Actor) -> Browser:
    """A separate cookie jar per person, logged in."""
    own = TestClient(client.app)
    browser = Browser(own)
    browser.login(actor.email)
    return browser


def opened(client: TestClient, deal: Deal) -> tuple[Browser, str]:
    sme = browser_for(client, deal.sme)
    sme.get(f"/engagements/{deal.engagement['id']}/disputes/new")
    response = sme.post(
        f"/engagements/{deal.engagement['id']}/disputes/new",
        {"category": "delay", "description": "第二期里程碑延期三周"},
    )
    assert response.status_code == 303, response.text
    return sme, response.headers["location"]


def test_a_party_opens_a_dispute_from_its_engagement(client: TestClient, deal: Deal) -> None:
    sme, location = opened(client, deal)

    page = sme.get(location)

    assert page.status_code == 200
    text = _text(page)
    assert "第二期里程碑延期三周" in text
    assert "已发起调解" in text  # the flash
    assert "撤回调解" in text  # the opener may withdraw
    assert "发送方案" not in text  # but not mediate


def test_the_open_form_says_what_is_missing(client: TestClient, deal: Deal) -> None:
    sme = browser_for(client, deal.sme)
    sme.get(f"/engagements/{deal.engagement['id']}/disputes/new")

    response = sme.post(
        f"/engagements/{deal.engagement['id']}/disputes/new", {"category": "", "description": ""}
    )

    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text


def test_strangers_cannot_open_a_dispute_page(client: TestClient, deal: Deal, api: Api) -> None:
    stranger = browser_for(client, api.sme())

    assert stranger.get(f"/engagements/{deal.engagement['id']}/disputes/new").status_code == 404
    _, location = opened(client, deal)
    assert stranger.get(location).status_code == 404


def test_mediation_from_proposal_to_agreement(
    client: TestClient, deal: Deal, market: Market
) -> None:
    sme, location = opened(client, deal)
    curator = browser_for(client, market.curator)
    listing = curator.get("/disputes")
    assert location in listing.text
    assert "待调解争议" in _text(listing)

    curator.get(location)
    proposed = curator.post(f"{location}/propose", {"proposal": "服务商加派人手，延期两周免违约金"})
    assert proposed.status_code == 303
    provider = browser_for(client, deal.provider)
    provider.get(location)
    provider.post(f"{location}/respond", {"answer": "accept"})
    sme.get(location)
    sme.post(f"{location}/respond", {"answer": "accept"})

    final = _text(sme.get(location))
    assert "达成一致" in final
    assert "服务商加派人手，延期两周免违约金" in final


def test_rejecting_without_a_reason_is_told_and_changes_nothing(
    client: TestClient, deal: Deal, market: Market
) -> None:
    sme, location = opened(client, deal)
    curator = browser_for(client, market.curator)
    curator.get(location)
    curator.post(f"{location}/propose", {"proposal": "各让一步"})

    sme.get(location)
    sme.post(f"{location}/respond", {"answer": "reject", "reason": ""})

    page = _text(sme.get(location))
    assert "请说明不接受方案的理由" in page
    assert "接受方案" in page  # still to answer


def test_a_party_cannot_mediate(client: TestClient, deal: Deal) -> None:
    sme, location = opened(client, deal)

    sme.get(location)
    sme.post(f"{location}/close", {"outcome": "decided", "reason": "我说了算"})

    page = _text(sme.get(location))
    assert "只有负责调解的审核员可以进行此操作" in page
    assert "调解中" in page


def test_the_curator_closes_without_agreement(
    client: TestClient, deal: Deal, market: Market
) -> None:
    _, location = opened(client, deal)
    curator = browser_for(client, market.curator)
    curator.get(location)

    curator.post(
        f"{location}/close", {"outcome": "closed_without_agreement", "reason": "双方分歧过大"}
    )

    page = _text(curator.get(location))
    assert "未达成一致而结案" in page
    assert "双方分歧过大" in page


def test_messages_and_evidence_on_the_page(
    client: TestClient, deal: Deal, api: Api, tmp_path: Path
) -> None:
    api.client.app.state.evidence_storage = LocalDirectoryStorage(tmp_path)  # type: ignore[attr-defined]
    sme, location = opened(client, deal)
    sme.get(location)
    sme.post(f"{location}/message", {"body": "<script>alert(1)</script>附上延期通知"})
    sme.get(location)
    uploaded = sme.client.post(
        f"{location}/evidence",
        data={"csrf_token": sme.token},
        files={"file": ("通知.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303

    provider = browser_for(client, deal.provider)
    page = provider.get(location)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;附上延期通知" in page.text
    assert "通知.pdf" in page.text
    link = page.text.split(f'href="{location}/evidence/')[1].split('"')[0]
    download = provider.get(f"{location}/evidence/{link}")
    assert download.content == PDF


def test_forms_without_the_csrf_token_are_refused(client: TestClient, deal: Deal) -> None:
    sme, location = opened(client, deal)

    response = sme.post(f"{location}/withdraw", {"reason": "撤回"}, csrf=False)

    assert response.status_code == 403


def test_english_pages(client: TestClient, deal: Deal) -> None:
    sme, location = opened(client, deal)
    sme.client.cookies.set("lang", "en")

    page = _text(sme.get(location))

    assert "Withdraw the dispute" in page
    assert "In mediation" in page


# --- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        urlguard, "resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")]
    )


def test_an_owner_registers_sees_the_secret_once_and_deletes(
    client: TestClient, api: Api, public_dns: None
) -> None:
    owner = browser_for(client, api.sme())
    owner.get("/settings/webhooks")

    created = owner.post(
        "/settings/webhooks",
        {"url": "https://hooks.example.com/in", "topics": ["rfq", "dispute"], "description": "ERP"},
    )

    assert created.status_code == 200
    assert "whsec_" in created.text
    again = owner.get("/settings/webhooks")
    assert "https://hooks.example.com/in" in again.text
    assert "whsec_" not in again.text
    endpoint_id = again.text.split('action="/settings/webhooks/')[1].split("/delete")[0]
    deleted = owner.post(f"/settings/webhooks/{endpoint_id}/delete")
    assert deleted.status_code == 303
    assert "https://hooks.example.com/in" not in owner.get("/settings/webhooks").text


def test_a_private_address_is_refused_beside_the_field(client: TestClient, api: Api) -> None:
    owner = browser_for(client, api.sme())
    owner.get("/settings/webhooks")

    response = owner.post(
        "/settings/webhooks", {"url": "http://192.168.1.10/hook", "topics": ["rfq"]}
    )

    assert response.status_code == 422
    assert "内网和本机地址会被拒绝" in _text(response)
    assert 'aria-invalid="true"' in response.text


def test_curators_have_no_webhooks(client: TestClient, market: Market) -> None:
    curator = browser_for(client, market.curator)

    assert curator.get("/settings/webhooks").status_code == 403


def test_dispute_pages_need_a_login(client: TestClient) -> None:
    response = client.get("/disputes", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
