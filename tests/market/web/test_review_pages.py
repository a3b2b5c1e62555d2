"""The review pages through the ASGI app: the SME's review form on a completed engagement, the
provider's reply form, and the trust summary with published reviews on the public provider page."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from market.reviews.models import Review
from tests.market.engagements.test_engagements import Deal, new_deal
from tests.market.reviews.test_reviews import REVIEW_BODY, related_deal, reviewed
from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.market.web.test_pages import Browser, _text
from tests.support import Actor, Api

FORM = {name: str(value) for name, value in REVIEW_BODY.items()}


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def browser_for(api: Api, actor: Actor) -> Browser:
    """A separate browser (its own cookies) logged in as ``actor``."""
    browser = Browser(TestClient(api.client.app))
    browser.login(actor.email)
    return browser


def review_url(deal: Deal) -> str:
    return f"/engagements/{deal.engagement['id']}/review"


def the_review(api: Api) -> Review:
    with api.db.transaction() as session:
        review = session.scalars(select(Review)).one()
        session.expunge(review)
    return review


def test_the_sme_reviews_a_completed_engagement_and_the_public_page_shows_it(
    market: Market,
) -> None:
    deal = new_deal(market).completed()
    sme = browser_for(market.api, deal.sme)

    form = sme.get(review_url(deal))
    sent = sme.post(review_url(deal), FORM)

    assert form.status_code == 200
    assert "设备联网率" in _text(form)  # the measured outcomes are shown before writing
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == review_url(deal)
    after = _text(sme.get(review_url(deal)))
    assert "感谢评价，您的评价已发布。" in after
    assert REVIEW_BODY["private_feedback"] in after  # the author sees what it told curators
    public = _text(sme.get(f"/providers/{deal.provider.provider_id}"))
    assert REVIEW_BODY["text"] in public
    assert "工作质量" in public
    assert "有效评价数" in public
    assert REVIEW_BODY["private_feedback"] not in public
    assert "20 → 85" in public


def test_a_missing_rating_is_marked_beside_its_field(market: Market) -> None:
    deal = new_deal(market).completed()
    sme = browser_for(market.api, deal.sme)
    sme.get(review_url(deal))

    response = sme.post(review_url(deal), {**FORM, "schedule": ""})

    assert response.status_code == 422
    assert 'id="err-schedule"' in response.text
    assert REVIEW_BODY["text"] in response.text  # what was typed is kept
    with market.api.db.transaction() as session:
        assert session.scalars(select(Review)).all() == []


def test_an_engagement_in_progress_offers_no_form(market: Market) -> None:
    deal = new_deal(market).in_state("accepted")
    sme = browser_for(market.api, deal.sme)

    page = sme.get(review_url(deal))
    refused = sme.post(review_url(deal), FORM)

    assert page.status_code == 200
    assert "项目完成后才能评价。" in _text(page)
    assert 'action="/engagements/' not in page.text
    assert refused.status_code == 409
    assert "项目完成后才能评价。" in _text(refused)


def test_a_held_review_says_it_waits_for_a_curator(market: Market) -> None:
    deal = related_deal(market)
    sme = browser_for(market.api, deal.sme)
    sme.get(review_url(deal))

    sent = sme.post(review_url(deal), FORM)

    assert sent.status_code == 303
    assert "需经资源池审核员核查后发布" in _text(sme.get(review_url(deal)))
    assert REVIEW_BODY["text"] not in _text(sme.get(f"/providers/{deal.provider.provider_id}"))


def test_the_provider_replies_once_and_the_reply_shows_publicly(market: Market) -> None:
    deal = new_deal(market).completed()
    review = reviewed(deal)
    provider = browser_for(market.api, deal.provider)
    url = f"/provider/reviews/{review['id']}/reply"

    page = provider.get(url)
    sent = provider.post(url, {"text": "感谢认可，后续运维我们持续跟进。"})

    assert page.status_code == 200
    assert REVIEW_BODY["private_feedback"] not in _text(page)
    assert sent.status_code == 303
    again = provider.get(url)
    assert "您的回复已随评价一同发布。" in _text(again)
    assert 'name="text"' not in again.text  # one reply only: the form is gone
    public = _text(provider.get(f"/providers/{deal.provider.provider_id}"))
    assert "服务商回复" in public
    assert "感谢认可，后续运维我们持续跟进。" in public
    assert the_review(market.api).reply_text == "感谢认可，后续运维我们持续跟进。"


def test_an_empty_reply_is_refused_beside_the_field(market: Market) -> None:
    deal = new_deal(market).completed()
    review = reviewed(deal)
    provider = browser_for(market.api, deal.provider)
    url = f"/provider/reviews/{review['id']}/reply"
    provider.get(url)

    response = provider.post(url, {"text": ""})

    assert response.status_code == 422
    assert 'id="err-text"' in response.text
    assert the_review(market.api).reply_text is None


@pytest.mark.parametrize(
    ("who", "status"),
    [("provider", 403), ("other_sme", 404), ("curator", 404)],
)
def test_only_the_sme_party_opens_the_review_form(market: Market, who: str, status: int) -> None:
    deal = new_deal(market).completed()
    actors: dict[str, Any] = {
        "provider": deal.provider,
        "other_sme": market.sme(),
        "curator": market.curator,
    }
    browser = browser_for(market.api, actors[who])

    assert browser.get(review_url(deal)).status_code == status


@pytest.mark.parametrize(("who", "status"), [("sme", 403), ("other_provider", 404)])
def test_only_the_reviewed_provider_opens_the_reply_form(
    market: Market, who: str, status: int
) -> None:
    deal = new_deal(market).completed()
    review = reviewed(deal)
    actor = deal.sme if who == "sme" else market.provider()
    browser = browser_for(market.api, actor)

    assert browser.get(f"/provider/reviews/{review['id']}/reply").status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client: TestClient, market: Market) -> None:
    deal = new_deal(market).completed()

    response = client.get(review_url(deal), follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_the_provider_page_shows_the_trust_summary_in_english(market: Market) -> None:
    deal = new_deal(market).completed()
    reviewed(deal)
    browser = Browser(TestClient(market.api.client.app))
    browser.client.get("/lang/en?next=/", follow_redirects=False)

    page = _text(browser.get(f"/providers/{deal.provider.provider_id}"))

    assert "Trust score" in page
    assert "4.33 / 5" in page  # (5 × 4.2 + 5) / 6
    assert "Quality of the work" in page
