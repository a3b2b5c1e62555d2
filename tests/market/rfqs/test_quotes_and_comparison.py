"""Quotes and their revisions, the comparison with three-year TCO and the subsidy split, the
abnormally-low flag with its cost breakdown, and accepting a quote (sequentially: the race is in
test_accept_concurrency.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core.outbox import OutboxEvent
from market.engagements.models import Engagement
from market.rfqs.models import Quote
from market.rfqs.service import today_in_china
from tests.market.rfqs.test_rfq_flow import (
    Market,
    code,
    day_in,
    error,
    events,
    new_market,
    quote_body,
)
from tests.support import Actor, Api

QUOTES = "/api/v1/quotes"
BREAKDOWN = {"items": [{"item": "人工", "cost_fen": 1}]}


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def one_off(amount_fen: int, **overrides: Any) -> dict[str, Any]:
    """A one-off quote whose three-year TCO is exactly ``amount_fen``."""
    return {
        "pricing_model": "one_off",
        "amount_fen": amount_fen,
        "amount_unit": "项目",
        "one_off_fen": amount_fen,
        "recurring_fen": 0,
        "recurring_months": None,
        "milestones": [
            {"title": "交付", "deliverable": "上线", "amount_fen": amount_fen, "due_in_days": 45}
        ],
        **overrides,
    }


def seed_band(market: Market, amounts: list[int]) -> None:
    """Agreed prices in the need's category (cap.data_acquisition): one engagement each."""
    sme, provider = market.sme(), market.provider(capacity=len(amounts) + 5)
    for amount in amounts:
        market.awarded(sme=sme, provider=provider, **one_off(amount))


def quote_url(invitation_id: str) -> str:
    return f"/api/v1/invitations/{invitation_id}/quotes"


# --- quoting -------------------------------------------------------------------------------------


def test_provider_quotes_and_the_sme_sees_costs_worked_out(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    invitation = market.invitation(rfq, provider)

    response = market.post(provider, quote_url(invitation), quote_body())

    assert response.status_code == 201, response.text
    quote = response.json()
    assert response.headers["Location"] == f"{QUOTES}/{quote['id']}"
    assert (quote["revision"], quote["status"], quote["is_latest"]) == (1, "submitted", True)
    assert [item["amount_fen"] for item in quote["line_items"]] == [1_000_000, 200_000]
    assert quote["contract_value_fen"] == 1_200_000 + 80_000 * 12
    assert quote["tco"]["total_fen"] == 1_200_000 + 80_000 * 36
    assert quote["tco"]["by_year"] == [1_200_000 + 960_000, 960_000, 960_000]
    assert quote["tco"]["formula"]["zh"].startswith("开通费")
    assert quote["split"] == {
        "list_fen": 4_080_000,
        "concession_fen": 0,
        "subsidy_fen": 0,
        "sme_net_fen": 4_080_000,
    }
    assert quote["abnormally_low"] is False
    assert quote["next_actions"] == ["explain_cost", "revise", "withdraw"]
    assert market.get(sme, f"{QUOTES}/{quote['id']}").json()["next_actions"] == ["accept"]
    seen = market.read_rfq(sme, rfq["id"])["invitations"][0]
    assert (seen["status"], seen["latest_quote"]["id"]) == ("quoted", quote["id"])
    told = events(market.api, "notify.quote.submitted")[-1]
    assert (told["recipients"]["org_ids"], told["revision"]) == ([str(sme.org_id)], 1)


def test_revisions_keep_history_and_only_the_latest_can_be_accepted(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    invitation = market.invitation(rfq, provider)
    first = market.quote(provider, invitation)

    second = market.quote(provider, invitation, recurring_fen=70_000, note="月费下调")

    assert (second["revision"], second["status"]) == (2, "submitted")
    history = market.get(sme, quote_url(invitation)).json()
    assert [(q["revision"], q["status"], q["is_latest"]) for q in history] == [
        (2, "submitted", True),
        (1, "superseded", False),
    ]
    assert history[1]["recurring_fen"] == 80_000
    stale = market.post(sme, f"{QUOTES}/{first['id']}/accept", {})
    assert (stale.status_code, code(stale)) == (409, "quote_superseded")
    assert error(stale)["details"]["latest_quote_id"] == second["id"]
    assert error(stale)["details"]["state"] == "superseded"
    assert market.post(sme, f"{QUOTES}/{second['id']}/accept", {}).status_code == 201


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        ("one_off", {"one_off_fen": 0}, "body.one_off_fen"),
        ("subscription", {"recurring_fen": 0}, "body.recurring_fen"),
        ("metered", {"terms": {"unit_price_fen": 20}}, "body.terms.units_per_month"),
        ("metered", {"terms": {"units_per_month": "100"}}, "body.terms.unit_price_fen"),
        ("lease", {"recurring_fen": 0}, "body.recurring_fen"),
        ("lease_to_own", {"recurring_months": None}, "body.recurring_months"),
        ("outcome", {"terms": {"gain_per_month_fen": 100_000}}, "body.terms.share_bp"),
        ("outcome", {"terms": {"share_bp": 2000}}, "body.terms.gain_per_month_fen"),
    ],
)
def test_each_pricing_model_states_what_its_tco_needs(
    market: Market, model: str, body: dict[str, Any], field: str
) -> None:
    sme, provider = market.sme(), market.provider()
    invitation = market.invitation(market.rfq(sme, [provider]), provider)

    response = market.post(provider, quote_url(invitation), quote_body(pricing_model=model, **body))

    assert response.status_code == 422, response.text
    assert error(response)["details"][0]["field"] == field


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"concession_fen": 4_080_001}, "body.concession_fen"),
        (
            {"milestones": [{"title": "全部", "amount_fen": 2_160_001, "due_in_days": 10}]},
            "body.milestones",
        ),
        ({"valid_until": day_in(-1)}, "body.valid_until"),
        (
            {"milestones": [{"title": "过去", "amount_fen": 1, "due_date": day_in(-1)}]},
            "body.milestones.0.due_date",
        ),
        (
            {
                "milestones": [
                    {"title": "两", "amount_fen": 1, "due_in_days": 3, "due_date": day_in(3)}
                ]
            },
            "body.milestones.0",
        ),
        ({"milestones": [{"title": "无日期", "amount_fen": 1}]}, "body.milestones.0"),
        ({"milestones": []}, "body.milestones"),
        ({"pricing_model": "barter"}, "body.pricing_model"),
        ({"amount_fen": -1}, "body.amount_fen"),
        ({"status": "accepted"}, "body.status"),
    ],
)
def test_quote_money_and_dates_are_checked(
    market: Market, overrides: dict[str, Any], field: str
) -> None:
    sme, provider = market.sme(), market.provider()
    invitation = market.invitation(market.rfq(sme, [provider]), provider)

    response = market.post(provider, quote_url(invitation), quote_body(**overrides))

    assert response.status_code == 422, response.text
    assert error(response)["details"][0]["field"] == field


def test_same_idempotency_key_submits_one_revision(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    invitation = market.invitation(market.rfq(sme, [provider]), provider)
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = market.post(provider, quote_url(invitation), quote_body(), headers=key)
    again = market.post(provider, quote_url(invitation), quote_body(), headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len(market.get(provider, quote_url(invitation)).json()) == 1


# --- comparison ----------------------------------------------------------------------------------


def test_comparison_puts_models_side_by_side_net_of_subsidy(market: Market) -> None:
    market.settings(
        subsidy_programme="常州市智改数转专项资金", subsidy_rate_bp=3_000, subsidy_cap_fen=1_000_000
    )
    sme = market.sme()
    buyer, renter, leaser, decliner = (market.provider() for _ in range(4))
    rfq = market.rfq(sme, [buyer, renter, leaser, decliner])
    market.quote(buyer, market.invitation(rfq, buyer), **one_off(3_000_000, concession_fen=200_000))
    market.quote(renter, market.invitation(rfq, renter))  # subscription, TCO 4,080,000
    market.quote(
        leaser,
        market.invitation(rfq, leaser),
        pricing_model="lease_to_own",
        one_off_fen=0,
        recurring_fen=50_000,
        recurring_months=24,
        terms={"buyout_fen": 300_000},
        milestones=[{"title": "网关到货", "amount_fen": 300_000, "due_in_days": 15}],
    )
    market.ok(
        decliner,
        f"/api/v1/invitations/{market.invitation(rfq, decliner)}/decline",
        {"reason": "不做硬件租赁"},
    )

    table = market.get(sme, f"/api/v1/rfqs/{rfq['id']}/comparison").json()

    assert table["horizon_months"] == 36
    assert table["subsidy"]["subsidy_programme"] == "常州市智改数转专项资金"
    assert set(table["formulas"]) == {
        "one_off",
        "subscription",
        "metered",
        "lease",
        "lease_to_own",
        "outcome",
    }
    rows = {row["provider"]["id"]: row for row in table["rows"]}
    buy = rows[str(buyer.provider_id)]["quote"]
    # 3,000,000 list − 200,000 concession; 30 % of 2,800,000 = 840,000 (under the cap).
    assert buy["split"] == {
        "list_fen": 3_000_000,
        "concession_fen": 200_000,
        "subsidy_fen": 840_000,
        "sme_net_fen": 1_960_000,
    }
    rent = rows[str(renter.provider_id)]["quote"]
    # 30 % of 4,080,000 = 1,224,000, capped at 1,000,000.
    assert rent["split"]["subsidy_fen"] == 1_000_000
    assert rent["split"]["sme_net_fen"] == 3_080_000
    lease = rows[str(leaser.provider_id)]["quote"]
    # Rent for 24 months then the buy-out: 50,000 × 24 + 300,000.
    assert lease["tco"]["total_fen"] == 1_500_000
    assert lease["tco"]["by_year"] == [600_000, 900_000, 0]
    assert lease["split"]["sme_net_fen"] == 1_050_000
    declined = rows[str(decliner.provider_id)]
    assert (declined["quote"], declined["decline_reason"]) == (None, "不做硬件租赁")
    assert (declined["acceptable"], declined["rank"]) == (False, None)
    ranks = {pid: row["rank"] for pid, row in rows.items() if row["rank"] is not None}
    assert ranks == {
        str(leaser.provider_id): 1,
        str(buyer.provider_id): 2,
        str(renter.provider_id): 3,
    }


def test_comparison_without_a_programme_shows_no_subsidy(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider], pool=False)
    market.quote(provider, market.invitation(rfq, provider))

    table = market.get(sme, f"/api/v1/rfqs/{rfq['id']}/comparison").json()

    assert table["subsidy"] is None
    assert table["rows"][0]["quote"]["split"]["subsidy_fen"] == 0
    assert table["rows"][0]["rank"] == 1


def test_lapsed_quote_is_shown_but_not_ranked(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    offered = market.quote(provider, market.invitation(rfq, provider))
    with market.api.db.transaction() as session:
        session.execute(
            update(Quote)
            .where(Quote.id == uuid.UUID(offered["id"]))
            .values(valid_until=today_in_china() - timedelta(days=1))
        )

    row = market.get(sme, f"/api/v1/rfqs/{rfq['id']}/comparison").json()["rows"][0]
    accept = market.post(sme, f"{QUOTES}/{offered['id']}/accept", {})

    assert (row["acceptable"], row["rank"]) == (False, None)
    assert (accept.status_code, code(accept)) == (409, "quote_expired")


# --- abnormally low ------------------------------------------------------------------------------


def test_quote_below_p10_of_agreed_prices_is_flagged_not_banned(market: Market) -> None:
    seed_band(market, [4_000_000, 5_000_000, 6_000_000, 7_000_000, 8_000_000])
    sme, low, fair = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(sme, [low, fair])

    cheap = market.quote(low, market.invitation(rfq, low), **one_off(3_000_000))
    normal = market.quote(fair, market.invitation(rfq, fair), **one_off(4_000_000))

    assert cheap["abnormally_low"] is True
    assert (cheap["reference_p10_fen"], cheap["reference_count"]) == (4_000_000, 5)
    assert cheap["cost_breakdown_requested"] is True
    assert normal["abnormally_low"] is False
    told = events(market.api, "notify.quote.abnormally_low")[-1]
    assert set(told["recipients"]["org_ids"]) == {
        str(sme.org_id),
        str(low.org_id),
        str(market.curator.org_id),
    }
    assert told["effective_fen"] == 3_000_000
    assert market.get(sme, f"{QUOTES}/{cheap['id']}").json()["abnormally_low"] is True
    # A flag, not a ban: the SME may still accept it.
    assert market.post(sme, f"{QUOTES}/{cheap['id']}/accept", {}).status_code == 201


def test_concession_counts_in_the_effective_price(market: Market) -> None:
    seed_band(market, [4_000_000] * 5)
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])

    quote = market.quote(
        provider, market.invitation(rfq, provider), **one_off(4_500_000, concession_fen=600_000)
    )

    assert quote["abnormally_low"] is True


@pytest.mark.parametrize("cancel_one", [False, True])
def test_too_few_agreed_prices_flag_nothing(market: Market, cancel_one: bool) -> None:
    seed_band(market, [4_000_000] * (4 if not cancel_one else 5))
    if cancel_one:
        with market.api.db.transaction() as session:
            first = session.scalar(select(Engagement).limit(1))
            assert first is not None
            first.status = "cancelled"
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])

    quote = market.quote(provider, market.invitation(rfq, provider), **one_off(100))

    assert quote["abnormally_low"] is False
    assert (quote["reference_p10_fen"], quote["reference_count"]) == (None, 4)


def test_the_band_is_per_category(market: Market) -> None:
    seed_band(market, [4_000_000] * 5)
    sme, provider = market.sme(), market.provider()
    need_id = market.need(sme, title="ERP选型", must_capabilities=["cap.erp"])
    rfq = market.rfq(sme, [provider], need_id=need_id)

    quote = market.quote(provider, market.invitation(rfq, provider), **one_off(100))

    assert rfq["category"] == "cap.erp"
    assert (quote["abnormally_low"], quote["reference_count"]) == (False, 0)


def _flagged(market: Market, *, pool: bool = True) -> tuple[Actor, Actor, dict[str, Any]]:
    seed_band(market, [4_000_000] * 5)
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider], pool=pool)
    quote = market.quote(provider, market.invitation(rfq, provider), **one_off(1_000_000))
    assert quote["abnormally_low"] is True
    return sme, provider, quote


def test_pool_curators_see_flagged_quotes_read_only(market: Market) -> None:
    _, provider, quote = _flagged(market)
    outsider = market.api.curator(admin=market.admin)

    listed = market.get(market.curator, "/api/v1/curator/flagged-quotes").json()
    read = market.get(market.curator, f"{QUOTES}/{quote['id']}")
    by_admin = market.get(market.admin, "/api/v1/curator/flagged-quotes").json()

    assert [item["quote"]["id"] for item in listed["items"]] == [quote["id"]]
    assert listed["items"][0]["pool_id"] == market.pool_id
    assert (read.status_code, read.json()["next_actions"]) == (200, [])
    assert quote["id"] in [item["quote"]["id"] for item in by_admin["items"]]
    assert market.get(outsider, "/api/v1/curator/flagged-quotes").json()["total"] == 0
    assert code(market.get(outsider, f"{QUOTES}/{quote['id']}")) == "quote_not_found"
    for write, body in (("accept", {}), ("cost-breakdown", BREAKDOWN)):
        refused = market.post(market.curator, f"{QUOTES}/{quote['id']}/{write}", body)
        assert (refused.status_code, code(refused)) == (403, "wrong_party"), write
    assert provider.provider_id is not None


def test_curators_of_the_providers_pool_oversee_rfqs_outside_any_pool(market: Market) -> None:
    _, _, quote = _flagged(market, pool=False)

    listed = market.get(market.curator, "/api/v1/curator/flagged-quotes").json()

    assert [item["quote"]["id"] for item in listed["items"]] == [quote["id"]]
    assert listed["items"][0]["pool_id"] is None


def test_unflagged_quotes_stay_hidden_from_curators(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    quote = market.quote(provider, market.invitation(market.rfq(sme, [provider]), provider))

    assert code(market.get(market.curator, f"{QUOTES}/{quote['id']}")) == "quote_not_found"
    assert code(market.get(market.admin, f"{QUOTES}/{quote['id']}")) == "quote_not_found"


def test_provider_answers_with_a_cost_breakdown(market: Market) -> None:
    sme, provider, quote = _flagged(market)
    breakdown = {
        "items": [
            {"item": "硬件（复用客户现有网关）", "cost_fen": 200_000},
            {"item": "实施人天", "cost_fen": 600_000},
        ],
        "note": "网关由客户提供，故报价较低",
    }

    answered = market.ok(provider, f"{QUOTES}/{quote['id']}/cost-breakdown", breakdown)

    assert answered["cost_breakdown"] == breakdown
    assert answered["cost_breakdown_requested"] is False
    assert answered["revision"] == 1
    seen = market.get(sme, f"{QUOTES}/{quote['id']}").json()
    assert seen["cost_breakdown"]["note"] == breakdown["note"]
    told = events(market.api, "notify.quote.cost_breakdown")[-1]["recipients"]["org_ids"]
    assert set(told) == {str(sme.org_id), str(market.curator.org_id)}
    by_sme = market.post(sme, f"{QUOTES}/{quote['id']}/cost-breakdown", breakdown)
    assert (by_sme.status_code, code(by_sme)) == (403, "wrong_party")


# --- accepting -----------------------------------------------------------------------------------


def test_accepting_closes_the_rfq_and_creates_the_engagement(market: Market) -> None:
    market.settings(subsidy_programme="智改数转专项", subsidy_rate_bp=2_000)
    sme = market.sme()
    winner, loser, silent = market.provider(), market.provider(), market.provider()
    rfq = market.rfq(sme, [winner, loser, silent])
    chosen = market.quote(winner, market.invitation(rfq, winner), concession_fen=80_000)
    other = market.quote(loser, market.invitation(rfq, loser))
    start = today_in_china() + timedelta(days=3)

    response = market.post(
        sme,
        f"{QUOTES}/{chosen['id']}/accept",
        {"contract_reference": "HT-2026-017", "start_date": start.isoformat()},
    )

    assert response.status_code == 201, response.text
    engagement = response.json()
    assert response.headers["Location"] == f"/api/v1/engagements/{engagement['id']}"
    assert response.headers["ETag"] == f'W/"{engagement["version"]}"'
    assert engagement["status"] == "active"
    assert (engagement["rfq_id"], engagement["quote_id"]) == (rfq["id"], chosen["id"])
    assert engagement["provider"]["id"] == str(winner.provider_id)
    assert engagement["contract_reference"] == "HT-2026-017"
    assert engagement["contract_value_fen"] == 2_160_000
    # 20 % of (4,080,000 − 80,000) = 800,000.
    assert engagement["split"] == {
        "list_fen": 4_080_000,
        "concession_fen": 80_000,
        "subsidy_fen": 800_000,
        "sme_net_fen": 3_200_000,
    }
    assert [(m["title"], m["due_date"], m["amount_fen"]) for m in engagement["milestones"]] == [
        ("设备接入", (start + timedelta(days=30)).isoformat(), 1_200_000),
        ("看板上线", (start + timedelta(days=60)).isoformat(), 400_000),
    ]
    closed = market.read_rfq(sme, rfq["id"])
    assert closed["status"] == "closed"
    assert closed["engagement_id"] == engagement["id"]
    assert [i["status"] for i in closed["invitations"]] == ["awarded", "closed", "closed"]
    assert market.get(loser, f"{QUOTES}/{other['id']}").json()["status"] == "not_selected"
    assert market.get(sme, f"{QUOTES}/{chosen['id']}").json()["status"] == "accepted"
    assert market.read_rfq(winner, rfq["id"])["engagement_id"] == engagement["id"]
    assert market.read_rfq(loser, rfq["id"])["engagement_id"] is None
    won = events(market.api, "notify.quote.accepted")[-1]
    assert (won["recipients"]["org_ids"], won["engagement_id"]) == (
        [str(winner.org_id)],
        engagement["id"],
    )
    lost = events(market.api, "notify.rfq.closed")[-1]["recipients"]["org_ids"]
    assert lost == sorted([str(loser.org_id), str(silent.org_id)])
    # The events reach the inbox: every notify.* was delivered without error.
    with market.api.db.transaction() as session:
        failed = session.scalars(
            select(OutboxEvent.topic).where(
                OutboxEvent.topic.startswith("notify."), OutboxEvent.last_error.is_not(None)
            )
        ).all()
    assert failed == []
    inbox = market.get(winner, "/api/v1/inbox").json()
    assert "quote.accepted" in [item["topic"] for item in inbox["items"]]


def test_milestone_with_a_fixed_date_keeps_it(market: Market) -> None:
    fixed = today_in_china() + timedelta(days=20)
    milestones = [{"title": "上线", "amount_fen": 100_000, "due_date": fixed.isoformat()}]

    _, _, engagement = market.awarded(milestones=milestones)

    assert engagement["milestones"][0]["due_date"] == fixed.isoformat()
    assert engagement["start_date"] == today_in_china().isoformat()


def test_a_second_accept_on_the_same_rfq_is_refused(market: Market) -> None:
    sme, first, second = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(sme, [first, second])
    a = market.quote(first, market.invitation(rfq, first))
    b = market.quote(second, market.invitation(rfq, second))
    market.accept(sme, a["id"])

    again = market.post(sme, f"{QUOTES}/{b['id']}/accept", {})
    same = market.post(sme, f"{QUOTES}/{a['id']}/accept", {})

    for response in (again, same):
        assert (response.status_code, code(response)) == (409, "invalid_transition")
        assert error(response)["details"]["entity"] == "rfq"
        assert error(response)["details"]["state"] == "closed"
    with market.api.db.transaction() as session:
        count = session.scalar(select(func.count()).select_from(Engagement))
    assert count == 1


def test_accept_with_the_same_idempotency_key_replays_the_engagement(market: Market) -> None:
    sme, provider, rival = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(sme, [provider, rival])
    offered = market.quote(provider, market.invitation(rfq, provider))
    other = market.quote(rival, market.invitation(rfq, rival))
    key = {"Idempotency-Key": "accept-" + offered["id"]}

    first = market.post(sme, f"{QUOTES}/{offered['id']}/accept", {}, headers=key)
    retry = market.post(sme, f"{QUOTES}/{offered['id']}/accept", {}, headers=key)
    misuse = market.post(sme, f"{QUOTES}/{other['id']}/accept", {}, headers=key)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert (misuse.status_code, code(misuse)) == (422, "idempotency_key_reused")
    with market.api.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Engagement)) == 1


# --- the quote state machine ---------------------------------------------------------------------


def test_quote_states_and_their_refusals(market: Market) -> None:
    sme = market.sme()
    winner, loser, withdrawer = market.provider(), market.provider(), market.provider()
    rfq = market.rfq(sme, [winner, loser, withdrawer])
    superseded = market.quote(winner, market.invitation(rfq, winner))
    accepted = market.quote(winner, market.invitation(rfq, winner))
    withdrawn = market.quote(withdrawer, market.invitation(rfq, withdrawer))
    market.ok(
        withdrawer,
        f"/api/v1/invitations/{market.invitation(rfq, withdrawer)}/decline",
        {"reason": "撤回"},
    )
    not_selected = market.quote(loser, market.invitation(rfq, loser))

    # submitted → withdrawn was refused a re-accept while the RFQ is open.
    refused = market.post(sme, f"{QUOTES}/{withdrawn['id']}/accept", {})
    assert (refused.status_code, code(refused)) == (409, "invalid_transition")
    assert error(refused)["details"] == {
        "entity": "quote",
        "state": "withdrawn",
        "action": "accept",
        "allowed_actions": [],
    }
    market.accept(sme, accepted["id"])

    cases = [
        (superseded, winner, "superseded", []),
        (withdrawn, withdrawer, "withdrawn", []),
        (not_selected, loser, "not_selected", []),
    ]
    for quote, provider, state, allowed in cases:
        assert market.get(sme, f"{QUOTES}/{quote['id']}").json()["status"] == state
        explain = market.post(provider, f"{QUOTES}/{quote['id']}/cost-breakdown", BREAKDOWN)
        assert (explain.status_code, code(explain)) == (409, "invalid_transition"), state
        assert error(explain)["details"]["state"] == state
        assert error(explain)["details"]["allowed_actions"] == allowed
    # An accepted quote may still be explained: the curators' question can come late.
    explained = market.ok(winner, f"{QUOTES}/{accepted['id']}/cost-breakdown", BREAKDOWN)
    assert (explained["status"], explained["next_actions"]) == ("accepted", ["explain_cost"])


def test_validity_dates_are_calendar_days_in_china() -> None:
    # 17:00 UTC on New Year's Day is already 2 January in Changzhou.
    assert today_in_china(datetime(2026, 1, 1, 17, 0, tzinfo=UTC)) == date(2026, 1, 2)
    assert today_in_china(datetime(2026, 1, 1, 15, 59, tzinfo=UTC)) == date(2026, 1, 1)
