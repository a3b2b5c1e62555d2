"""Appeals against a star rating or a sanction must come within the pool's appeal window."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from catalog.pools.models import APPEAL_WINDOW_DAYS, Pool, PoolApplication, PoolSanction
from core.database import utcnow
from tests.catalog.pools.test_application_lifecycle import Flow
from tests.catalog.pools.test_sanctions_and_appeals import appeal, get, listed, ok, sanctioned
from tests.support import Api


@pytest.fixture
def flow(api: Api) -> Flow:
    return listed(api)


def age_sanction(flow: Flow, sanction: dict[str, Any], days: float) -> None:
    with flow.api.db.transaction() as session:
        session.execute(
            update(PoolSanction)
            .where(PoolSanction.id == uuid.UUID(sanction["id"]))
            .values(issued_at=utcnow() - timedelta(days=days))
        )


def age_rating(flow: Flow, days: float) -> None:
    with flow.api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == uuid.UUID(flow.app["id"]))
            .values(rated_at=utcnow() - timedelta(days=days))
        )


def set_window(flow: Flow, days: int) -> None:
    with flow.api.db.transaction() as session:
        session.execute(
            update(Pool)
            .where(Pool.id == uuid.UUID(flow.pool["id"]))
            .values(appeal_window_days=days)
        )


def sanction_appeal(flow: Flow, sanction: dict[str, Any]) -> Any:
    return appeal(flow, {"subject": "sanction", "sanction_id": sanction["id"], "text": "不服"})


def test_a_new_pool_has_the_default_window(flow: Flow) -> None:
    assert flow.pool["appeal_window_days"] == APPEAL_WINDOW_DAYS


def test_a_late_appeal_against_a_sanction_is_refused_with_the_deadline(flow: Flow) -> None:
    warning = sanctioned(flow, "warning")
    age_sanction(flow, warning, APPEAL_WINDOW_DAYS + 1)

    response = sanction_appeal(flow, warning)

    assert response.status_code == 409
    body = response.json()["error"]
    assert body["code"] == "appeal_window_closed"
    assert body["details"]["appeal_window_days"] == APPEAL_WINDOW_DAYS
    assert ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/appeals")) == []


def test_an_appeal_on_the_last_day_of_the_window_is_filed(flow: Flow) -> None:
    warning = sanctioned(flow, "warning")
    age_sanction(flow, warning, APPEAL_WINDOW_DAYS - 0.5)

    assert ok(sanction_appeal(flow, warning))["status"] == "open"


def test_a_late_appeal_against_the_star_rating_is_refused(flow: Flow) -> None:
    age_rating(flow, APPEAL_WINDOW_DAYS + 1)

    response = appeal(flow, {"subject": "rating", "text": "评分偏低"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "appeal_window_closed"


def test_the_pools_own_window_applies(flow: Flow) -> None:
    set_window(flow, 60)
    age_rating(flow, 45)

    assert ok(appeal(flow, {"subject": "rating", "text": "评分偏低"}))["status"] == "open"


def test_curators_set_the_window_on_the_pool(flow: Flow) -> None:
    url = f"/api/v1/pools/{flow.pool['id']}"
    etag = flow.api.client.get(url).headers["ETag"]

    response = flow.api.client.patch(
        url, json={"appeal_window_days": 30}, headers={**flow.curator.headers, "If-Match": etag}
    )
    too_long = flow.api.client.patch(
        url, json={"appeal_window_days": 400}, headers={**flow.curator.headers, "If-Match": etag}
    )

    assert response.status_code == 200, response.text
    assert response.json()["appeal_window_days"] == 30
    assert too_long.status_code == 422
