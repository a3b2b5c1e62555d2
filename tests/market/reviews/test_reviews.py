"""Reviews of completed engagements: who writes them and when, the outcomes attached, replies,
related-party holds, burst flags, curator decisions and the provider's public trust."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from catalog.providers.models import Provider
from catalog.taxonomy import make_credit_code
from core.audit import AuditRecord
from core.database import utcnow
from market.reviews.models import Review
from market.reviews.rules import BURST_REVIEWS, organisation_part
from matching.trust import HIGH_RATING_BADGE_WILSON, has_high_rating_badge, summarise
from matching.trust import Review as EngineReview
from tests.market.engagements.test_engagements import Deal, new_deal
from tests.market.rfqs.test_rfq_flow import Market, code, events, new_market
from tests.support import PASSWORD, Actor, Api

REVIEW_BODY: dict[str, Any] = {
    "quality": 5,
    "schedule": 4,
    "cost_value": 4,
    "service": 5,
    "recommend": 5,
    "overall": 5,
    "text": "网关两周内全部接入，看板直接用于早会，交付团队响应很快。",
    "private_feedback": "合同外的培训另收了费用，请资源池留意。",
}


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def completed_deal(market: Market, **kw: Any) -> Deal:
    deal = new_deal(market) if not kw else Deal(market, *market.awarded(**kw))
    return deal.completed()


def write_review(deal: Deal, body: dict[str, Any] | None = None) -> httpx.Response:
    return deal.post(deal.sme, "/review", body or REVIEW_BODY)


def reviewed(deal: Deal, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = write_review(deal, body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def public(api: Api, provider: Actor, **params: Any) -> dict[str, Any]:
    response = api.client.get(f"/api/v1/providers/{provider.provider_id}/reviews", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def register(api: Api, kind: str, credit_code: str) -> Actor:
    """An organisation with a chosen credit code, for the related-party rule."""
    email = f"{kind}-{uuid.uuid4().hex[:10]}@example.com"
    organisation: dict[str, Any] = {
        "kind": kind,
        "name": f"关联测试{kind}{uuid.uuid4().hex[:6]}",
        "credit_code": credit_code,
        "region_code": "320400",
    }
    if kind == "provider":
        organisation["provider_type"] = "product"
    response = api.client.post(
        "/api/v1/auth/register",
        json={
            "organisation": organisation,
            "user": {"email": email, "name": "测试用户", "password": PASSWORD},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Actor(
        email=email,
        token=api.login(email),
        user_id=uuid.UUID(body["user"]["id"]),
        org_id=uuid.UUID(body["organisation"]["id"]),
        role=body["user"]["role"],
        provider_id=uuid.UUID(body["provider_id"]) if body["provider_id"] else None,
    )


def related_deal(market: Market) -> Deal:
    """A completed engagement between two organisations with one 组织机构代码."""
    serial = f"R{uuid.uuid4().int % 10**8:08d}"
    sme = register(market.api, "sme", make_credit_code(area="320400", serial=serial))
    provider = register(market.api, "provider", make_credit_code(area="320500", serial=serial))
    market.list_in(provider)
    return Deal(market, *market.awarded(sme, provider)).completed()


def decide(market: Market, review_id: str, decision: str, actor: Actor | None = None) -> Any:
    return market.post(
        actor or market.curator,
        f"/api/v1/reviews/{review_id}/decision",
        {"decision": decision, "reason": "核实双方无关联，合同与验收材料齐全"},
    )


def queue(market: Market, actor: Actor | None = None) -> list[dict[str, Any]]:
    response = market.get(actor or market.curator, "/api/v1/reviews/queue")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- writing -------------------------------------------------------------------------------------


def test_the_sme_reviews_a_completed_engagement_with_its_measured_outcomes(market: Market) -> None:
    deal = completed_deal(market)

    review = reviewed(deal)

    assert review["status"] == "published"
    assert [review[k] for k in ("quality", "schedule", "cost_value", "service", "recommend")] == [
        5,
        4,
        4,
        5,
        5,
    ]
    assert review["engagement_id"] == deal.engagement["id"]
    assert review["private_feedback"] == REVIEW_BODY["private_feedback"]
    kpis = {k["name"]: k for k in review["outcomes"]["kpis"]}
    assert kpis["设备联网率"]["baseline"] == 20
    assert kpis["设备联网率"]["measured"] == 85
    assert kpis["设备联网率"]["delta"] == 65
    assert kpis["设备联网率"]["improved"] is True
    assert kpis["单位产值能耗"]["delta"] == pytest.approx(-0.08)
    assert kpis["单位产值能耗"]["improved"] is True  # lower energy use is the better direction
    assert review["outcomes"]["maturity_before"] == 2
    assert review["outcomes"]["maturity_after"] == 3
    assert review["outcomes"]["maturity_delta"] == 1
    assert events(market.api, "market.review.changed")[-1] == {
        "review_id": review["id"],
        "provider_id": str(deal.provider.provider_id),
        "status": "published",
    }


@pytest.mark.parametrize("state", ["active", "delivered", "accepted", "cancelled"])
def test_an_engagement_that_is_not_completed_cannot_be_reviewed(market: Market, state: str) -> None:
    deal = new_deal(market).in_state(state)

    response = write_review(deal)

    assert response.status_code == 409
    assert code(response) == "engagement_not_completed"


def test_an_engagement_is_reviewed_once(market: Market) -> None:
    deal = completed_deal(market)
    reviewed(deal)

    again = write_review(deal, {**REVIEW_BODY, "overall": 1})

    assert again.status_code == 409
    assert code(again) == "review_exists"
    with market.api.db.transaction() as session:
        overall = session.scalars(select(Review.overall)).all()
    assert list(overall) == [5]


@pytest.mark.parametrize(
    "change",
    [{"overall": 6}, {"quality": 0}, {"text": "太短"}, {"recommend": None}, {"stars": 5}],
)
def test_ratings_are_one_to_five_and_the_text_says_something(
    market: Market, change: dict[str, Any]
) -> None:
    deal = completed_deal(market)

    response = write_review(deal, {**REVIEW_BODY, **change})

    assert response.status_code == 422, response.text


def test_the_public_sees_published_reviews_without_private_feedback_or_the_contract(
    market: Market,
) -> None:
    deal = completed_deal(market)
    reviewed(deal)

    body = public(market.api, deal.provider)

    assert body["total"] == 1
    item = body["items"][0]
    assert item["private_feedback"] is None
    assert item["engagement_id"] is None
    assert item["hold_reasons"] is None
    assert item["category"] == "cap.data_acquisition"
    assert item["text"] == REVIEW_BODY["text"]
    trust = body["trust"]
    assert trust["review_count"] == 1
    # R̃ = (C·μ₀ + w·r)/(C + w) with a fresh review (w = 1): (5·4.2 + 5)/6.
    assert trust["score"] == pytest.approx((5 * 4.2 + 5) / 6, abs=1e-3)
    assert trust["effective_reviews"] == pytest.approx(1.0)
    assert trust["high_rating_badge"] is False
    assert trust["prior_mean"] == 4.2
    assert trust["prior_weight"] == 5.0
    assert trust["half_life_days"] == 365.0
    assert trust["dimensions"]["schedule"] == 4


def test_the_provider_party_sees_its_review_without_the_private_feedback(market: Market) -> None:
    deal = completed_deal(market)
    reviewed(deal)

    as_provider = deal.market.get(deal.provider, f"{deal.url}/review")
    as_sme = deal.market.get(deal.sme, f"{deal.url}/review")

    assert as_provider.status_code == 200
    assert as_provider.json()["private_feedback"] is None
    assert as_provider.json()["next_actions"] == ["reply"]
    assert as_sme.json()["private_feedback"] == REVIEW_BODY["private_feedback"]


def test_a_provider_without_reviews_sits_at_the_prior(market: Market) -> None:
    provider = market.provider()

    trust = public(market.api, provider)["trust"]

    assert trust["review_count"] == 0
    assert trust["score"] == pytest.approx(4.2)
    assert trust["dimensions"]["overall"] is None


def test_the_public_list_pages_newest_first(market: Market) -> None:
    provider = market.provider()
    first = reviewed(Deal(market, *market.awarded(provider=provider)).completed())
    second = reviewed(Deal(market, *market.awarded(provider=provider)).completed())

    page_one = public(market.api, provider, size=1)
    page_two = public(market.api, provider, size=1, page=2)

    assert page_one["total"] == 2
    assert [page_one["items"][0]["id"], page_two["items"][0]["id"]] == [second["id"], first["id"]]


# --- replies -------------------------------------------------------------------------------------


def test_the_provider_replies_publicly_once(market: Market) -> None:
    deal = completed_deal(market)
    review = reviewed(deal)
    url = f"/api/v1/reviews/{review['id']}/reply"

    first = market.post(deal.provider, url, {"text": "感谢认可，培训费用已在合同附件中说明。"})
    second = market.post(deal.provider, url, {"text": "再补充一句"})

    assert first.status_code == 200, first.text
    assert first.json()["reply"]["text"] == "感谢认可，培训费用已在合同附件中说明。"
    assert first.json()["next_actions"] == []
    assert second.status_code == 409
    assert code(second) == "already_replied"
    assert public(market.api, deal.provider)["items"][0]["reply"]["text"].startswith("感谢认可")


def test_a_held_review_cannot_be_replied_to(market: Market) -> None:
    deal = related_deal(market)
    review = reviewed(deal)

    response = market.post(deal.provider, f"/api/v1/reviews/{review['id']}/reply", {"text": "x"})

    assert response.status_code == 409
    assert code(response) == "invalid_transition"


# --- related parties, bursts, curators -----------------------------------------------------------


def test_the_organisation_part_is_characters_nine_to_seventeen() -> None:
    left = make_credit_code(area="320400", serial="MA1234567")
    right = make_credit_code(authority="5", area="110000", serial="MA1234567")

    assert organisation_part(left) == organisation_part(right) == "MA1234567"
    assert organisation_part(None) is None
    assert organisation_part("12345") is None


def test_a_review_between_organisations_with_one_organisation_code_is_held(
    market: Market,
) -> None:
    deal = related_deal(market)

    review = reviewed(deal)

    assert review["status"] == "held"
    assert review["published_at"] is None
    assert public(market.api, deal.provider)["total"] == 0
    waiting = queue(market)
    assert [item["id"] for item in waiting] == [review["id"]]
    assert waiting[0]["hold_reasons"] == ["same_organisation_code"]
    assert waiting[0]["private_feedback"] == REVIEW_BODY["private_feedback"]
    assert waiting[0]["next_actions"] == ["publish", "reject"]
    assert events(market.api, "market.review.changed") == []


def test_a_shared_contact_email_holds_the_review(market: Market) -> None:
    deal = completed_deal(market)
    with market.api.db.transaction() as session:
        session.execute(
            update(Provider)
            .where(Provider.id == deal.provider.provider_id)
            .values(contact_email=deal.sme.email.upper())
        )

    review = reviewed(deal)

    assert review["status"] == "held"
    assert queue(market)[0]["hold_reasons"] == ["shared_contact_email"]


def test_a_curator_publishes_a_held_review_with_an_audited_reason(market: Market) -> None:
    deal = related_deal(market)
    review = reviewed(deal)

    response = decide(market, review["id"], "publish")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "published"
    assert response.json()["published_at"] is not None
    assert public(market.api, deal.provider)["total"] == 1
    assert queue(market) == []
    with market.api.db.transaction() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.target_id == review["id"])
        ).one()
    assert record.action == "review.published"
    assert record.reason == "核实双方无关联，合同与验收材料齐全"
    assert str(record.scope_id) == market.pool_id
    assert record.before == {"status": "held", "flags": []}
    assert events(market.api, "market.review.changed")[-1]["status"] == "published"


def test_a_rejected_review_never_shows(market: Market) -> None:
    deal = related_deal(market)
    review = reviewed(deal)

    rejected = decide(market, review["id"], "reject")
    again = decide(market, review["id"], "publish")

    assert rejected.json()["status"] == "rejected"
    assert public(market.api, deal.provider)["total"] == 0
    assert again.status_code == 409
    assert code(again) == "review_not_pending"


def test_a_decision_needs_a_reason(market: Market) -> None:
    deal = related_deal(market)
    review = reviewed(deal)

    response = market.post(
        market.curator, f"/api/v1/reviews/{review['id']}/decision", {"decision": "publish"}
    )

    assert response.status_code == 422


def test_a_published_review_without_flags_waits_for_no_decision(market: Market) -> None:
    review = reviewed(completed_deal(market))

    response = decide(market, review["id"], "publish")

    assert response.status_code == 409
    assert code(response) == "review_not_pending"


def test_a_burst_of_reviews_is_flagged_and_weighs_nothing_until_cleared(market: Market) -> None:
    provider = market.provider()
    deals = [
        Deal(market, *market.awarded(provider=provider)).completed() for _ in range(BURST_REVIEWS)
    ]
    written = [reviewed(deal, {**REVIEW_BODY, "overall": 1}) for deal in deals]

    waiting = queue(market)

    assert sorted(item["id"] for item in waiting) == sorted(r["id"] for r in written)
    assert {tuple(item["flags"]) for item in waiting} == {("burst",)}
    trust = public(market.api, provider)["trust"]
    assert trust["review_count"] == BURST_REVIEWS  # on show …
    assert trust["score"] == pytest.approx(4.2)  # … but weightless while flagged

    for item in waiting:
        cleared = decide(market, item["id"], "publish")
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["flags"] == ["burst"]
    assert queue(market) == []
    assert public(market.api, provider)["trust"]["score"] < 4.2


def test_reviews_spread_over_time_are_no_burst(market: Market) -> None:
    provider = market.provider()
    deals = [
        Deal(market, *market.awarded(provider=provider)).completed() for _ in range(BURST_REVIEWS)
    ]
    for deal in deals[:-1]:
        reviewed(deal)
    with market.api.db.transaction() as session:
        session.execute(update(Review).values(created_at=utcnow() - timedelta(days=3)))

    reviewed(deals[-1])

    assert queue(market) == []


# --- trust arithmetic ----------------------------------------------------------------------------


def test_the_badge_needs_a_wilson_lower_bound_at_the_threshold() -> None:
    ten = summarise([EngineReview(5.0)] * 10)
    eleven = summarise([EngineReview(5.0)] * 11)
    old = summarise([EngineReview(5.0, age_days=3 * 365)] * 11)

    assert ten.wilson < HIGH_RATING_BADGE_WILSON <= eleven.wilson
    assert not has_high_rating_badge(ten)
    assert has_high_rating_badge(eleven)
    # Old reviews keep their ratings but count as fewer: n_eff is unchanged for equal ages,
    # yet the score's pull away from the prior weakens.
    assert old.mean < eleven.mean
