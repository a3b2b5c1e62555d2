"""An RFQ's life: sending a need to capped, eligible providers; invitations answered, declined or
expired; Q&A; deadlines moved, passed and swept; cancellation; Idempotency-Key on create.

The helpers at the top (``Market``, ``quote_body`` …) are shared by the other RFQ and
engagement test files.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from catalog.pools.models import PoolApplication
from catalog.providers.models import Provider
from core.database import utcnow
from core.outbox import OutboxEvent
from market.rfqs.models import Quote, Rfq
from market.rfqs.service import today_in_china
from tests.catalog.pools.test_pool_management import create_pool
from tests.support import Actor, Api

RFQS = "/api/v1/rfqs"
NEEDS = "/api/v1/needs"

NEED: dict[str, Any] = {
    "title": "注塑车间设备联网",
    "description": "20台注塑机联网，做数据采集和设备看板",
    "must_capabilities": ["cap.data_acquisition"],
    "budget_min_fen": 1_000_000,
    "budget_max_fen": 5_000_000,
}


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def code(response: httpx.Response) -> str:
    return str(error(response)["code"])


def deadline_in(days: float) -> str:
    return (utcnow() + timedelta(days=days)).isoformat()


def day_in(days: int) -> str:
    return (today_in_china() + timedelta(days=days)).isoformat()


def quote_body(**overrides: Any) -> dict[str, Any]:
    """A subscription quote: 12,000 元 set-up + 800 元/month for 12 months.

    Three-year TCO 12,000 + 800 × 36 = 40,800 元; contract value 12,000 + 800 × 12 = 21,600 元.
    """
    body: dict[str, Any] = {
        "scope": "20台注塑机联网与数据采集，含设备看板与一年运维",
        "line_items": [
            {"description": "边缘网关", "quantity": "4", "unit": "台", "unit_price_fen": 250_000},
            {"description": "实施", "quantity": "2.5", "unit": "人天", "unit_price_fen": 80_000},
        ],
        "pricing_model": "subscription",
        "amount_fen": 80_000,
        "amount_unit": "元/月",
        "one_off_fen": 1_200_000,
        "recurring_fen": 80_000,
        "recurring_months": 12,
        "milestones": [
            {
                "title": "设备接入",
                "deliverable": "20台注塑机联网",
                "amount_fen": 1_200_000,
                "due_in_days": 30,
            },
            {"title": "看板上线", "deliverable": "看板", "amount_fen": 400_000, "due_in_days": 60},
        ],
        "valid_until": day_in(30),
        "attachments": ["方案书.pdf"],
    }
    body.update(overrides)
    return body


def invite(*providers: Actor) -> dict[str, Any]:
    return {"provider_ids": [str(p.provider_id) for p in providers]}


def events(api: Api, topic: str) -> list[dict[str, Any]]:
    with api.db.transaction() as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
        )
        return [dict(row.payload) for row in rows]


@dataclass
class Market:
    """A pool run by an agency's curator, and helpers to make listed providers, needs, RFQs and
    quotes through the API (listings are written directly: vetting is the pools' business)."""

    api: Api
    admin: Actor
    curator: Actor
    pool: dict[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def pool_id(self) -> str:
        return str(self.pool["id"])

    def post(self, actor: Actor | None, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = {**(actor.headers if actor else {}), **kw.pop("headers", {})}
        return self.api.client.post(path, json=body, headers=headers, **kw)

    def get(self, actor: Actor | None, path: str, **kw: Any) -> httpx.Response:
        return self.api.client.get(path, headers=actor.headers if actor else {}, **kw)

    def ok(self, actor: Actor, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        response = self.post(actor, path, body, **kw)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def list_in(self, provider: Actor, pool_id: str | None = None, state: str = "listed") -> None:
        with self.api.db.transaction() as session:
            session.add(
                PoolApplication(
                    pool_id=uuid.UUID(pool_id or self.pool_id),
                    provider_id=provider.provider_id,
                    category_id="injection",
                    declared_at=utcnow(),
                    state=state,
                    listed_since=utcnow(),
                )
            )

    def set_listing_state(self, provider: Actor, state: str) -> None:
        with self.api.db.transaction() as session:
            session.execute(
                update(PoolApplication)
                .where(PoolApplication.provider_id == provider.provider_id)
                .values(state=state)
            )

    def provider(self, *, listed: bool = True, capacity: int | None = None) -> Actor:
        provider = self.api.provider()
        if listed:
            self.list_in(provider)
        if capacity is not None:
            with self.api.db.transaction() as session:
                session.execute(
                    update(Provider)
                    .where(Provider.id == provider.provider_id)
                    .values(capacity=capacity)
                )
        return provider

    def sme(self) -> Actor:
        return self.api.sme()

    def need(self, sme: Actor, **overrides: Any) -> str:
        response = self.post(sme, NEEDS, {**NEED, **overrides})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def send_rfq(
        self,
        sme: Actor,
        providers: list[Actor],
        *,
        pool: bool = True,
        need_id: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "need_id": need_id or self.need(sme),
            "provider_ids": [str(p.provider_id) for p in providers],
            "deadline": deadline_in(7),
            "message": "请于截止前报价，欢迎提问",
            **extra,
        }
        if pool:
            body.setdefault("pool_id", self.pool_id)
        return self.post(sme, RFQS, body)

    def rfq(self, sme: Actor, providers: list[Actor], **kw: Any) -> dict[str, Any]:
        response = self.send_rfq(sme, providers, **kw)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def read_rfq(self, actor: Actor, rfq_id: str) -> dict[str, Any]:
        response = self.get(actor, f"{RFQS}/{rfq_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def invitation(self, rfq: dict[str, Any], provider: Actor) -> str:
        found = [i for i in rfq["invitations"] if i["provider"]["id"] == str(provider.provider_id)]
        if not found:
            found = self.read_rfq(provider, rfq["id"])["invitations"]
        return str(found[0]["id"])

    def quote(self, provider: Actor, invitation_id: str, **overrides: Any) -> dict[str, Any]:
        response = self.post(
            provider, f"/api/v1/invitations/{invitation_id}/quotes", quote_body(**overrides)
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def accept(self, sme: Actor, quote_id: str, **body: Any) -> dict[str, Any]:
        return self.ok(sme, f"/api/v1/quotes/{quote_id}/accept", body)

    def settings(self, **body: Any) -> dict[str, Any]:
        response = self.api.client.put(
            f"/api/v1/pools/{self.pool_id}/market-settings",
            json=body,
            headers=self.curator.headers,
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def pass_deadline(self, rfq_id: str) -> None:
        """Move the deadline into the past, as if the days had run."""
        with self.api.db.transaction() as session:
            session.execute(
                update(Rfq)
                .where(Rfq.id == uuid.UUID(rfq_id))
                .values(deadline=utcnow() - timedelta(minutes=1))
            )

    def awarded(
        self, sme: Actor | None = None, provider: Actor | None = None, **quote: Any
    ) -> tuple[Actor, Actor, dict[str, Any]]:
        """A full path to an engagement: RFQ, one quote, accepted."""
        sme = sme or self.sme()
        provider = provider or self.provider()
        rfq = self.rfq(sme, [provider])
        offered = self.quote(provider, self.invitation(rfq, provider), **quote)
        return sme, provider, self.accept(sme, offered["id"])


def new_market(api: Api) -> Market:
    admin = api.admin()
    curator = api.curator(admin=admin)
    return Market(api=api, admin=admin, curator=curator, pool=create_pool(api, curator))


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


# --- sending an RFQ ------------------------------------------------------------------------------


def test_sme_sends_a_need_to_listed_providers(market: Market) -> None:
    sme = market.sme()
    first, second = market.provider(), market.provider()

    response = market.send_rfq(sme, [first, second])

    assert response.status_code == 201, response.text
    rfq = response.json()
    assert response.headers["Location"] == f"{RFQS}/{rfq['id']}"
    assert rfq["status"] == "open"
    assert rfq["title"] == NEED["title"]
    assert rfq["category"] == "cap.data_acquisition"
    assert rfq["need"]["must_capabilities"] == ["cap.data_acquisition"]
    assert rfq["need"]["budget_max_fen"] == 5_000_000
    assert rfq["invitation_cap"] == 5
    assert rfq["pool_id"] == market.pool_id
    assert [i["status"] for i in rfq["invitations"]] == ["invited", "invited"]
    assert [i["provider"]["id"] for i in rfq["invitations"]] == [
        str(first.provider_id),
        str(second.provider_id),
    ]
    assert rfq["next_actions"] == ["accept", "cancel", "extend", "invite"]
    invited = events(market.api, "notify.rfq.invited")
    assert invited[-1]["recipients"]["org_ids"] == sorted([str(first.org_id), str(second.org_id)])
    assert invited[-1]["rfq_id"] == rfq["id"]


def test_invited_provider_sees_the_need_and_only_its_own_invitation(market: Market) -> None:
    sme = market.sme()
    first, second = market.provider(), market.provider()
    rfq = market.rfq(sme, [first, second])

    seen = market.read_rfq(second, rfq["id"])

    assert seen["need"]["description"] == NEED["description"]
    assert seen["sme"]["id"] == str(sme.org_id)
    assert [i["provider"]["id"] for i in seen["invitations"]] == [str(second.provider_id)]
    assert seen["invitations"][0]["next_actions"] == ["decline", "message", "quote"]
    assert seen["next_actions"] == []
    mine = market.get(second, RFQS).json()
    assert [(r["id"], r["my_invitation_status"]) for r in mine["items"]] == [(rfq["id"], "invited")]
    assert mine["items"][0]["invitation_count"] is None
    theirs = market.get(sme, RFQS).json()["items"]
    assert [(r["invitation_count"], r["quote_count"]) for r in theirs] == [(2, 0)]


def test_rfq_without_a_pool_takes_any_listed_provider(market: Market) -> None:
    other_pool = create_pool(market.api, market.curator, name="另一资源池")
    elsewhere = market.api.provider()
    market.list_in(elsewhere, other_pool["id"])

    rfq = market.rfq(market.sme(), [elsewhere], pool=False)

    assert rfq["pool_id"] is None
    assert rfq["invitation_cap"] == 5


def test_more_than_the_default_cap_of_five_is_refused(market: Market) -> None:
    providers = [market.provider() for _ in range(6)]

    response = market.send_rfq(market.sme(), providers, pool=False)

    assert response.status_code == 422
    assert code(response) == "invitation_cap_exceeded"
    assert error(response)["details"][0]["field"] == "body.provider_ids"
    assert "at most 5" in error(response)["message"]


def test_the_pools_own_cap_applies_to_rfqs_run_under_it(market: Market) -> None:
    market.settings(invitation_cap=2)
    sme = market.sme()
    rfq = market.rfq(sme, [market.provider(), market.provider()])

    response = market.post(sme, f"{RFQS}/{rfq['id']}/invitations", invite(market.provider()))

    assert response.status_code == 422
    assert code(response) == "invitation_cap_exceeded"
    assert "2 invited already" in error(response)["message"]
    assert len(market.read_rfq(sme, rfq["id"])["invitations"]) == 2


def test_declined_invitations_still_count_towards_the_cap(market: Market) -> None:
    market.settings(invitation_cap=1)
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    market.ok(
        provider,
        f"/api/v1/invitations/{market.invitation(rfq, provider)}/decline",
        {"reason": "排期已满"},
    )

    response = market.post(sme, f"{RFQS}/{rfq['id']}/invitations", invite(market.provider()))

    assert code(response) == "invitation_cap_exceeded"


def test_sme_invites_more_providers_while_open(market: Market) -> None:
    sme = market.sme()
    rfq = market.rfq(sme, [market.provider()])
    late = market.provider()

    response = market.post(
        sme, f"{RFQS}/{rfq['id']}/invitations", {"provider_ids": [str(late.provider_id)]}
    )

    assert response.status_code == 200, response.text
    assert [i["status"] for i in response.json()["invitations"]] == ["invited", "invited"]
    assert market.read_rfq(late, rfq["id"])["invitations"][0]["provider"]["id"] == str(
        late.provider_id
    )


def test_unlisted_provider_cannot_be_invited(market: Market) -> None:
    unlisted = market.provider(listed=False)

    response = market.send_rfq(market.sme(), [market.provider(), unlisted])

    assert response.status_code == 422
    assert code(response) == "provider_not_listed"
    assert error(response)["details"][0]["field"] == "body.provider_ids.1"


@pytest.mark.parametrize("state", ["suspended", "removed", "in_notice", "rejected"])
def test_suspended_or_no_longer_listed_provider_cannot_be_invited(
    market: Market, state: str
) -> None:
    provider = market.provider()
    market.set_listing_state(provider, state)

    response = market.send_rfq(market.sme(), [provider], pool=False)

    assert response.status_code == 422
    assert code(response) == "provider_not_listed"


def test_provider_listed_elsewhere_cannot_join_a_pool_rfq(market: Market) -> None:
    other_pool = create_pool(market.api, market.curator, name="另一资源池")
    elsewhere = market.api.provider()
    market.list_in(elsewhere, other_pool["id"])

    response = market.send_rfq(market.sme(), [elsewhere])

    assert response.status_code == 422
    assert code(response) == "provider_not_in_pool"


def test_provider_at_capacity_cannot_be_invited_until_work_ends(market: Market) -> None:
    provider = market.provider(capacity=1)
    _, _, engagement = market.awarded(provider=provider)

    refused = market.send_rfq(market.sme(), [provider])

    assert refused.status_code == 422
    assert code(refused) == "provider_at_capacity"
    assert "1/1" in error(refused)["message"]
    market.ok(provider, f"/api/v1/engagements/{engagement['id']}/cancel", {"reason": "客户变更"})
    assert market.send_rfq(market.sme(), [provider]).status_code == 201


def test_unknown_or_repeated_provider_is_refused(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    url = f"{RFQS}/{rfq['id']}/invitations"

    again = market.post(sme, url, {"provider_ids": [str(provider.provider_id)]})
    unknown = market.post(sme, url, {"provider_ids": [str(uuid.uuid4())]})
    twice = market.post(sme, url, {"provider_ids": [str(provider.provider_id)] * 2})

    assert code(again) == "provider_already_invited"
    assert code(unknown) == "provider_not_found"
    assert (twice.status_code, code(twice)) == (422, "validation_error")


def test_rfq_needs_an_open_need_of_the_sme(market: Market) -> None:
    owner, stranger, provider = market.sme(), market.sme(), market.provider()
    need_id = market.need(owner)

    foreign = market.send_rfq(stranger, [provider], need_id=need_id)
    etag = market.get(owner, f"{NEEDS}/{need_id}").headers["ETag"]
    closed = market.api.client.patch(
        f"{NEEDS}/{need_id}", json={"status": "closed"}, headers={**owner.headers, "If-Match": etag}
    )
    assert closed.status_code == 200, closed.text
    on_closed = market.send_rfq(owner, [provider], need_id=need_id)

    assert (foreign.status_code, code(foreign)) == (404, "need_not_found")
    assert (on_closed.status_code, code(on_closed)) == (409, "need_closed")


@pytest.mark.parametrize(("days", "kind"), [(-1, "past"), (0, "past"), (91, "too_late")])
def test_deadline_lies_ahead_within_ninety_days(market: Market, days: int, kind: str) -> None:
    response = market.send_rfq(market.sme(), [market.provider()], deadline=deadline_in(days))

    assert response.status_code == 422
    assert error(response)["details"][0] == {
        "field": "body.deadline",
        "message": error(response)["details"][0]["message"],
        "type": kind,
    }


def test_unknown_pool_is_refused(market: Market) -> None:
    response = market.send_rfq(market.sme(), [market.provider()], pool_id=str(uuid.uuid4()))

    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == "body.pool_id"


def test_deleting_the_need_keeps_the_rfq_and_its_snapshot(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])

    deleted = market.api.client.delete(f"{NEEDS}/{rfq['need_id']}", headers=sme.headers)

    assert deleted.status_code == 204, deleted.text
    seen = market.read_rfq(provider, rfq["id"])
    assert seen["need_id"] is None
    assert seen["need"]["title"] == NEED["title"]


# --- answering: quote, decline, Q&A --------------------------------------------------------------


def test_provider_declines_with_a_reason_and_the_sme_is_told(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    invitation = market.invitation(rfq, provider)

    url = f"/api/v1/invitations/{invitation}/decline"

    declined = market.ok(provider, url, {"reason": "排期已满"})

    assert (declined["status"], declined["decline_reason"]) == ("declined", "排期已满")
    assert declined["next_actions"] == []
    assert events(market.api, "notify.invitation.declined")[-1]["recipients"]["org_ids"] == [
        str(sme.org_id)
    ]
    again = market.post(provider, f"/api/v1/invitations/{invitation}/decline", {"reason": "再次"})
    assert (again.status_code, code(again)) == (409, "invalid_transition")
    assert error(again)["details"] == {
        "entity": "invitation",
        "state": "declined",
        "action": "decline",
        "allowed_actions": [],
    }
    quoting = market.post(provider, f"/api/v1/invitations/{invitation}/quotes", quote_body())
    assert (quoting.status_code, code(quoting)) == (409, "invalid_transition")


def test_declining_after_quoting_withdraws_the_quote(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    invitation = market.invitation(rfq, provider)
    offered = market.quote(provider, invitation)

    market.ok(provider, f"/api/v1/invitations/{invitation}/decline", {"reason": "报价有误，撤回"})

    assert market.get(sme, f"/api/v1/quotes/{offered['id']}").json()["status"] == "withdrawn"
    accept = market.post(sme, f"/api/v1/quotes/{offered['id']}/accept", {})
    assert (accept.status_code, code(accept)) == (409, "invalid_transition")
    assert error(accept)["details"]["state"] == "withdrawn"


def test_qa_thread_is_private_to_the_sme_and_that_provider(market: Market) -> None:
    sme = market.sme()
    asker, rival = market.provider(), market.provider()
    rfq = market.rfq(sme, [asker, rival])
    thread = f"/api/v1/invitations/{market.invitation(rfq, asker)}/messages"

    market.ok(asker, thread, {"body": "注塑机是否都有以太网口？"})
    market.ok(sme, thread, {"body": "12台有，8台只有RS485"})

    messages = market.get(asker, thread).json()
    assert [(m["side"], m["body"]) for m in messages] == [
        ("provider", "注塑机是否都有以太网口？"),
        ("sme", "12台有，8台只有RS485"),
    ]
    assert market.get(sme, thread).json() == messages
    assert code(market.get(rival, thread)) == "invitation_not_found"
    assert code(market.post(rival, thread, {"body": "偷看"})) == "invitation_not_found"
    told = events(market.api, "notify.rfq.message")
    assert [e["recipients"]["org_ids"] for e in told] == [[str(sme.org_id)], [str(asker.org_id)]]


# --- deadlines -----------------------------------------------------------------------------------


def test_sme_extends_the_deadline_and_live_invitations_are_told(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    later = deadline_in(14)

    extended = market.ok(sme, f"{RFQS}/{rfq['id']}/extend", {"deadline": later})

    assert extended["deadline"] > rfq["deadline"]
    assert events(market.api, "notify.rfq.deadline_extended")[-1]["recipients"]["org_ids"] == [
        str(provider.org_id)
    ]
    earlier = market.post(sme, f"{RFQS}/{rfq['id']}/extend", {"deadline": deadline_in(3)})
    assert (earlier.status_code, error(earlier)["details"][0]["type"]) == (422, "past")


def test_passed_deadline_without_quotes_expires_the_rfq(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    market.pass_deadline(rfq["id"])

    seen = market.read_rfq(sme, rfq["id"])

    assert seen["status"] == "expired"
    assert seen["ended_at"] is not None
    assert [i["status"] for i in seen["invitations"]] == ["expired"]
    assert seen["next_actions"] == []
    told = events(market.api, "notify.rfq.expired")[-1]["recipients"]["org_ids"]
    assert told == sorted([str(sme.org_id), str(provider.org_id)])


def test_passed_deadline_keeps_a_valid_quote_acceptable(market: Market) -> None:
    sme, quoted, silent = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(sme, [quoted, silent])
    invitation = market.invitation(rfq, quoted)
    offered = market.quote(quoted, invitation)
    market.pass_deadline(rfq["id"])

    seen = market.read_rfq(sme, rfq["id"])
    revising = market.post(quoted, f"/api/v1/invitations/{invitation}/quotes", quote_body())
    late = market.post(
        silent, f"/api/v1/invitations/{market.invitation(rfq, silent)}/quotes", quote_body()
    )

    assert seen["status"] == "open"
    assert [i["status"] for i in seen["invitations"]] == ["quoted", "expired"]
    assert (revising.status_code, code(revising)) == (409, "rfq_deadline_passed")
    assert (late.status_code, code(late)) == (409, "invalid_transition")
    assert error(late)["details"]["state"] == "expired"
    assert market.post(sme, f"/api/v1/quotes/{offered['id']}/accept", {}).status_code == 201


def test_passed_deadline_with_only_lapsed_quotes_expires_the_rfq(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    offered = market.quote(provider, market.invitation(rfq, provider), valid_until=day_in(0))
    market.pass_deadline(rfq["id"])
    with market.api.db.transaction() as session:
        session.execute(
            update(Quote)
            .where(Quote.id == uuid.UUID(offered["id"]))
            .values(valid_until=today_in_china() - timedelta(days=1))
        )

    seen = market.read_rfq(sme, rfq["id"])

    assert seen["status"] == "expired"
    assert market.get(sme, f"/api/v1/quotes/{offered['id']}").json()["status"] == "not_selected"


def test_admin_sweeps_passed_deadlines(market: Market) -> None:
    sme = market.sme()
    rfq = market.rfq(sme, [market.provider()])
    market.pass_deadline(rfq["id"])

    swept = market.ok(market.admin, "/api/v1/admin/rfqs/expire-due")

    assert swept["checked"] >= 1
    with market.api.db.transaction() as session:
        assert session.get(Rfq, uuid.UUID(rfq["id"])).status == "expired"  # type: ignore[union-attr]
    refused = market.post(sme, "/api/v1/admin/rfqs/expire-due")
    assert (refused.status_code, code(refused)) == (403, "role_required")


def test_inviting_after_the_deadline_needs_an_extension(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    rfq = market.rfq(sme, [provider])
    market.quote(provider, market.invitation(rfq, provider))
    market.pass_deadline(rfq["id"])

    response = market.post(sme, f"{RFQS}/{rfq['id']}/invitations", invite(market.provider()))

    assert (response.status_code, code(response)) == (409, "rfq_deadline_passed")


# --- cancelling ----------------------------------------------------------------------------------


def test_sme_cancels_with_a_reason_and_everything_closes(market: Market) -> None:
    sme, quoted, silent = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(sme, [quoted, silent])
    offered = market.quote(quoted, market.invitation(rfq, quoted))

    cancelled = market.ok(sme, f"{RFQS}/{rfq['id']}/cancel", {"reason": "预算调整，暂缓实施"})

    assert (cancelled["status"], cancelled["status_reason"]) == ("cancelled", "预算调整，暂缓实施")
    assert [i["status"] for i in cancelled["invitations"]] == ["closed", "closed"]
    assert market.get(quoted, f"/api/v1/quotes/{offered['id']}").json()["status"] == "not_selected"
    told = events(market.api, "notify.rfq.cancelled")[-1]
    assert told["recipients"]["org_ids"] == sorted([str(quoted.org_id), str(silent.org_id)])
    assert told["reason"] == "预算调整，暂缓实施"
    no_reason = market.post(sme, f"{RFQS}/{market.rfq(sme, [quoted])['id']}/cancel", {})
    assert no_reason.status_code == 422


# --- the RFQ state machine: every refused move ---------------------------------------------------


def _ended(market: Market, state: str) -> tuple[Actor, Actor, dict[str, Any], str]:
    """An RFQ that left ``open`` for ``state``, with its SME, a provider and a quote id."""
    sme, provider, spare = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(sme, [provider, spare])
    offered = market.quote(provider, market.invitation(rfq, provider))
    if state == "closed":
        market.accept(sme, offered["id"])
    elif state == "cancelled":
        market.ok(sme, f"{RFQS}/{rfq['id']}/cancel", {"reason": "取消"})
    else:
        market.ok(
            provider,
            f"/api/v1/invitations/{market.invitation(rfq, provider)}/decline",
            {"reason": "撤回"},
        )
        market.pass_deadline(rfq["id"])
    assert market.read_rfq(sme, rfq["id"])["status"] == state
    return sme, spare, rfq, offered["id"]


@pytest.mark.parametrize("state", ["closed", "cancelled", "expired"])
def test_an_ended_rfq_refuses_every_action(market: Market, state: str) -> None:
    sme, spare, rfq, quote_id = _ended(market, state)
    url = f"{RFQS}/{rfq['id']}"
    invitation = market.invitation(rfq, spare)
    attempts = {
        "invite": market.post(
            sme, f"{url}/invitations", {"provider_ids": [str(market.provider().provider_id)]}
        ),
        "extend": market.post(sme, f"{url}/extend", {"deadline": deadline_in(20)}),
        "cancel": market.post(sme, f"{url}/cancel", {"reason": "再取消"}),
        "accept": market.post(sme, f"/api/v1/quotes/{quote_id}/accept", {}),
        "respond": market.post(spare, f"/api/v1/invitations/{invitation}/quotes", quote_body()),
    }
    attempts["respond_decline"] = market.post(
        spare, f"/api/v1/invitations/{invitation}/decline", {"reason": "不报"}
    )
    attempts["respond_message"] = market.post(
        sme, f"/api/v1/invitations/{invitation}/messages", {"body": "还在吗"}
    )

    for action, response in attempts.items():
        assert response.status_code == 409, (action, response.text)
        assert code(response) == "invalid_transition", action
        # The RFQ is checked first, so every refusal names its final state.
        assert error(response)["details"]["entity"] == "rfq", action
        assert error(response)["details"]["state"] == state, action
        assert error(response)["details"]["allowed_actions"] == [], action
    assert market.read_rfq(sme, rfq["id"])["status"] == state


# --- Idempotency-Key on create -------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_answer(market: Market) -> None:
    sme, provider = market.sme(), market.provider()
    body = {
        "need_id": market.need(sme),
        "provider_ids": [str(provider.provider_id)],
        "deadline": deadline_in(7),
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = market.post(sme, RFQS, body, headers=key)
    second = market.post(sme, RFQS, body, headers=key)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert market.get(sme, RFQS).json()["total"] == 1
    changed = market.post(sme, RFQS, {**body, "message": "换了内容"}, headers=key)
    assert (changed.status_code, code(changed)) == (422, "idempotency_key_reused")


def test_keys_are_per_user_and_a_failed_request_stores_nothing(market: Market) -> None:
    sme, colleague_sme, provider = market.sme(), market.sme(), market.provider()
    key = {"Idempotency-Key": "rfq-2026-001"}
    body = {
        "need_id": market.need(sme),
        "provider_ids": [str(provider.provider_id)],
        "deadline": deadline_in(-1),
    }

    failed = market.post(sme, RFQS, body, headers=key)
    retried = market.post(sme, RFQS, {**body, "deadline": deadline_in(7)}, headers=key)
    elsewhere = market.post(
        colleague_sme,
        RFQS,
        {**body, "need_id": market.need(colleague_sme), "deadline": deadline_in(7)},
        headers=key,
    )

    assert failed.status_code == 422
    assert retried.status_code == 201
    assert elsewhere.status_code == 201
    assert elsewhere.json()["id"] != retried.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\tkey"])
def test_malformed_idempotency_key_is_refused(market: Market, key: str) -> None:
    sme = market.sme()

    response = market.post(
        sme,
        RFQS,
        {
            "need_id": market.need(sme),
            "provider_ids": [str(market.provider().provider_id)],
            "deadline": deadline_in(7),
        },
        headers={"Idempotency-Key": key},
    )

    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == "header.Idempotency-Key"
