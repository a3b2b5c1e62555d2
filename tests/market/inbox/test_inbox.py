"""The in-app inbox: pool steps reach the people they concern (the provider's members, the
pool's curators) through ``notify.*`` outbox events; each user reads and marks only their own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.outbox import OutboxEvent, emit
from market.accounts.models import User
from market.inbox import service
from market.inbox.models import InboxItem
from tests.catalog.pools.test_application_lifecycle import HIGH, Flow, new_flow, score_body
from tests.catalog.pools.test_pool_management import error
from tests.catalog.pools.test_sanctions_and_appeals import sanctioned
from tests.support import PASSWORD, Actor, Api

INBOX = "/api/v1/inbox"


def inbox(api: Api, actor: Actor, **params: Any) -> dict[str, Any]:
    response = api.client.get(INBOX, headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def topics(api: Api, actor: Actor) -> list[str]:
    return [item["topic"] for item in inbox(api, actor, size=100)["items"]]


def colleague_of(api: Api, provider: Actor) -> Actor:
    """A second member of the provider's organisation, invited by its administrator."""
    invited = api.client.post(
        "/api/v1/organisations/me/invitations",
        headers=provider.headers,
        json={"email": f"member-{uuid.uuid4().hex[:8]}@example.com"},
    )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    accepted = api.client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": body["token"], "name": "同事", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    user = accepted.json()
    return Actor(
        email=user["email"],
        token=api.login(user["email"]),
        user_id=uuid.UUID(user["id"]),
        org_id=provider.org_id,
        role="provider",
    )


@pytest.fixture
def flow(api: Api) -> Flow:
    return new_flow(api)


def test_a_return_reaches_every_member_of_the_provider_and_no_one_else(flow: Flow) -> None:
    api = flow.api
    flow.submitted()
    assert topics(api, flow.curator) == ["application.submitted"]
    flow.ok(flow.curator, "return", {"reasons": ["营业执照扫描件不清晰"]})

    item = inbox(api, flow.provider)["items"][0]

    assert item["topic"] == "application.returned"
    assert "申请被退回" in item["title"]
    assert "营业执照扫描件不清晰" in item["body"]
    assert item["data"]["application_id"] == flow.app["id"]
    assert "recipients" not in item["data"]
    assert topics(api, flow.curator) == ["application.submitted"]
    assert topics(api, api.provider()) == []
    assert topics(api, api.curator()) == []


def test_the_curators_hear_when_scoring_is_complete_once(flow: Flow) -> None:
    api = flow.api
    flow.under_review()
    first, second = flow.reviewers
    flow.ok(first, "score", score_body(HIGH))
    assert "application.scored" not in topics(api, flow.curator)

    flow.ok(second, "score", score_body(HIGH))
    flow.ok(second, "score", score_body(HIGH))  # a re-score does not announce again

    scored = [
        i for i in inbox(api, flow.curator, size=100)["items"] if i["topic"] == "application.scored"
    ]
    assert len(scored) == 1
    assert "86" in scored[0]["body"]
    assert "application.scored" in topics(api, first)  # reviewers are the agency's curators


def test_approval_and_objections_notify_who_they_concern(flow: Flow) -> None:
    api = flow.api
    flow.in_notice()
    objector = api.sme()
    assert flow.post(objector, "objections", {"text": "案例存疑"}).status_code == 201

    provider_topics = topics(api, flow.provider)
    curator_topics = topics(api, flow.curator)

    assert "application.approved" in provider_topics
    assert "objection.filed" in curator_topics
    assert "objection.filed" not in provider_topics
    assert topics(api, objector) == []


def test_a_sanction_and_an_appeal_decision_reach_the_provider(api: Api) -> None:
    flow = new_flow(api).listed()
    assert "application.listed" in topics(api, flow.provider)
    suspension = sanctioned(flow, "suspension")
    appeal = api.client.post(
        f"/api/v1/applications/{flow.app['id']}/appeals",
        headers=flow.provider.headers,
        json={"subject": "sanction", "sanction_id": suspension["id"], "text": "不服"},
    ).json()
    decided = api.client.post(
        f"/api/v1/appeals/{appeal['id']}/decision",
        headers=flow.team.colleague().headers,
        json={"outcome": "dismiss", "reason": "停牌有据"},
    )
    assert decided.status_code == 200, decided.text

    items = {i["topic"]: i for i in inbox(api, flow.provider, size=100)["items"]}

    assert items["sanction.issued"]["title"].startswith("停牌")
    assert "申诉驳回" in items["appeal.decided"]["body"]
    assert "appeal.filed" in topics(api, flow.curator)


def test_every_member_of_the_organisation_gets_their_own_row(flow: Flow) -> None:
    api = flow.api
    member = colleague_of(api, flow.provider)
    flow.submitted().ok(flow.curator, "return", {"reasons": ["缺材料"]})

    first = inbox(api, flow.provider)
    second = inbox(api, member)
    api.client.post(f"{INBOX}/{first['items'][0]['id']}/read", headers=flow.provider.headers)

    assert [i["topic"] for i in first["items"]] == ["application.returned"]
    assert [i["topic"] for i in second["items"]] == ["application.returned"]
    assert inbox(api, member)["unread"] == 1
    assert inbox(api, flow.provider)["unread"] == 0


# --- reading ------------------------------------------------------------------------------------


def test_read_one_read_all_unread_first_and_the_count(flow: Flow) -> None:
    api, curator = flow.api, flow.curator
    flow.submitted()
    flow.ok(flow.provider, "withdraw")
    flow.submitted()  # a second application.submitted
    page = inbox(api, curator)
    assert (page["total"], page["unread"]) == (2, 2)
    oldest = page["items"][-1]

    read = api.client.post(f"{INBOX}/{oldest['id']}/read", headers=curator.headers)
    again = api.client.post(f"{INBOX}/{oldest['id']}/read", headers=curator.headers)
    count = api.client.get(f"{INBOX}/unread-count", headers=curator.headers).json()

    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert again.json()["read_at"] == read.json()["read_at"]
    assert count == {"unread": 1}
    assert [i["read_at"] is None for i in inbox(api, curator)["items"]] == [True, False]
    assert inbox(api, curator, unread="true")["total"] == 1
    marked = api.client.post(f"{INBOX}/read-all", headers=curator.headers)
    assert marked.json() == {"marked": 1}
    assert inbox(api, curator)["unread"] == 0


def test_nobody_reads_or_marks_anothers_rows(flow: Flow) -> None:
    api = flow.api
    flow.submitted()
    item = inbox(api, flow.curator)["items"][0]

    for actor in (flow.provider, api.curator(), flow.team.admin):
        response = api.client.post(f"{INBOX}/{item['id']}/read", headers=actor.headers)
        assert response.status_code == 404
        assert error(response)["code"] == "inbox_item_not_found"
        api.client.post(f"{INBOX}/read-all", headers=actor.headers)
    assert inbox(api, flow.curator)["unread"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", INBOX),
        ("GET", f"{INBOX}/unread-count"),
        ("POST", f"{INBOX}/read-all"),
        ("POST", f"{INBOX}/00000000-0000-4000-8000-000000000000/read"),
    ],
)
def test_the_inbox_needs_a_login(api: Api, method: str, path: str) -> None:
    response: httpx.Response = api.client.request(method, path)

    assert response.status_code == 401
    assert error(response)["code"] == "authentication_required"


# --- delivery -----------------------------------------------------------------------------------


def test_a_replayed_event_notifies_nobody_twice(api: Api) -> None:
    provider = api.provider()
    with api.db.transaction() as session:
        emit(
            session,
            "notify.application.returned",
            recipients={
                "org_ids": [str(provider.org_id)],
                "user_ids": [],
                "curators_of_pool": None,
            },
            pool_name="测试池",
            reasons=["缺材料"],
        )
        session.flush()
        event = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).one()
        first = service.deliver(
            session, topic=event.topic, payload=event.payload, event_id=event.id
        )
        second = service.deliver(
            session, topic=event.topic, payload=event.payload, event_id=event.id
        )
        rows = session.scalar(select(func.count()).where(InboxItem.user_id == provider.user_id))

    assert (first, second, rows) == (1, 0, 1)


def test_users_addressed_directly_and_inactive_users_skipped(api: Api) -> None:
    someone, other = api.sme(), api.sme()
    with api.db.transaction() as session:
        user = session.get(User, other.user_id)
        assert user is not None
        user.is_active = False
        payload = {"recipients": {"user_ids": [str(someone.user_id), str(other.user_id)]}}
        written = service.deliver(
            session, topic="notify.something.new", payload=payload, event_id=None
        )

    assert written == 1
    item = inbox(api, someone)["items"][0]
    assert (item["topic"], item["title"], item["body"]) == (
        "something.new",
        "notify.something.new",
        "",
    )


def test_wording_fills_in_the_facts_and_tolerates_missing_ones() -> None:
    title, body = service.render(
        "notify.sanction.issued",
        {
            "pool_name": "常州市资源池",
            "kind": "rectification",
            "reason": "案例不实",
            "deadline": "2030-01-01T02:00:00+00:00",
        },
    )
    bare_title, bare_body = service.render("notify.application.listed", {})

    assert title == "限期整改：常州市资源池"
    assert body == (
        "您在「常州市资源池」的入库资格被给予限期整改：案例不实。"
        "请于 2030-01-01 10:00 前提交整改报告。"
    )
    assert bare_title == "已正式入库："
    assert "星级" in bare_body
