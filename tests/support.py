"""Plain typed helpers for tests: scratch databases and actors made through the real API."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from catalog.taxonomy import make_credit_code
from core.database import Database, make_engine
from market.accounts import service as accounts

PASSWORD = "correct-horse-42"
_serials = itertools.count(1)


def scratch_database_url(directory: Path, name: str) -> tuple[str, Callable[[], None]]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database when
    MARKET_TEST_DATABASE_URL points at a server."""
    base = os.environ.get("MARKET_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{directory / (name + '.db')}", lambda: None
    parsed = make_url(base)
    # The process id keeps concurrent runs on one server (two developers, a CI job) apart.
    db_name = f"{parsed.database}_{name}_{os.getpid()}".lower()[:63]
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
    url = parsed.set(database=db_name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def credit_code() -> str:
    """A valid, unique 统一社会信用代码 for test organisations."""
    serial = f"T{next(_serials):08d}"
    return make_credit_code(area="320400", serial=serial)


def list_provider_in_pool(db: Database, provider_id: uuid.UUID) -> uuid.UUID:
    """Make a provider public the short way: a listing in a test pool, as if vetted.

    The pool workflow itself is tested in tests/catalog/pools; other tests only need a
    provider the public may see.
    """
    from catalog.pools.models import Pool, PoolApplication
    from core.database import utcnow
    from market.accounts.models import Organisation

    with db.transaction() as session:
        agency = Organisation(kind="agency", name="测试工信局（列名）", jurisdiction="320400")
        session.add(agency)
        session.flush()
        pool = Pool(
            agency_org_id=agency.id,
            jurisdiction="320400",
            name="测试资源池",
            categories=[
                {
                    "id": "general",
                    "name": "综合",
                    "provider_types": [],
                    "industries": [],
                    "quota": None,
                }
            ],
            scorecard=[
                {"id": "all", "name": "综合评分", "max_points": 100, "weight": 1.0, "guidance": ""}
            ],
        )
        session.add(pool)
        session.flush()
        now = utcnow()
        application = PoolApplication(
            pool_id=pool.id,
            provider_id=provider_id,
            category_id="general",
            declared_at=now,
            state="listed",
            total_score=80.0,
            decided_at=now,
            listed_since=now,
            valid_until=now.replace(year=now.year + 2),
            star_rating=4,
        )
        session.add(application)
        session.flush()
        return application.id


def list_every_provider(db: Database) -> int:
    """List every provider without a listing in one test pool (bulk data made public)."""
    from sqlalchemy import select

    from catalog.pools.models import Pool, PoolApplication
    from catalog.providers.models import Provider
    from core.database import utcnow
    from market.accounts.models import Organisation

    with db.transaction() as session:
        agency = Organisation(kind="agency", name="测试工信局（批量）", jurisdiction="320400")
        session.add(agency)
        session.flush()
        pool = Pool(agency_org_id=agency.id, jurisdiction="320400", name="批量测试资源池")
        session.add(pool)
        session.flush()
        listed = select(PoolApplication.provider_id)
        ids = list(session.scalars(select(Provider.id).where(Provider.id.not_in(listed))))
        now = utcnow()
        session.add_all(
            PoolApplication(
                pool_id=pool.id,
                provider_id=pid,
                category_id="general",
                declared_at=now,
                state="listed",
                listed_since=now,
                star_rating=3,
            )
            for pid in ids
        )
        return len(ids)


@dataclass
class Actor:
    email: str
    token: str
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str
    provider_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    client: TestClient
    db: Database

    def login(self, email: str, password: str = PASSWORD) -> str:
        response = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    def register(
        self,
        kind: str,
        *,
        region: str = "320400",
        provider_type: str = "product",
        name: str | None = None,
    ) -> Actor:
        email = f"{kind}-{uuid.uuid4().hex[:10]}@example.com"
        organisation: dict[str, Any] = {
            "kind": kind,
            "name": name or f"测试{kind}公司{uuid.uuid4().hex[:6]}",
            "credit_code": credit_code(),
            "region_code": region,
        }
        if kind == "provider":
            organisation["provider_type"] = provider_type
        response = self.client.post(
            "/api/v1/auth/register",
            json={
                "organisation": organisation,
                "user": {"email": email, "name": "测试用户", "password": PASSWORD},
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        provider_id = body["provider_id"]
        return Actor(
            email=email,
            token=self.login(email),
            user_id=uuid.UUID(body["user"]["id"]),
            org_id=uuid.UUID(body["organisation"]["id"]),
            role=body["user"]["role"],
            provider_id=uuid.UUID(provider_id) if provider_id else None,
        )

    def provider(self, *, listed: bool = False, **kwargs: Any) -> Actor:
        actor = self.register("provider", **kwargs)
        if listed:
            self.list_in_pool(actor)
        return actor

    def list_in_pool(self, actor: Actor) -> uuid.UUID:
        assert actor.provider_id is not None, "only providers can be listed"
        return list_provider_in_pool(self.db, actor.provider_id)

    def sme(self, **kwargs: Any) -> Actor:
        return self.register("sme", **kwargs)

    def admin(self) -> Actor:
        email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
        with self.db.transaction() as session:
            user = accounts.create_admin(session, email=email, name="管理员", password=PASSWORD)
            user_id, org_id = user.id, user.org_id
        return Actor(
            email=email, token=self.login(email), user_id=user_id, org_id=org_id, role="admin"
        )

    def curator(self, *, jurisdiction: str = "320400", admin: Actor | None = None) -> Actor:
        admin = admin or self.admin()
        agency = self.client.post(
            "/api/v1/admin/agencies",
            headers=admin.headers,
            json={"name": f"测试工信局{uuid.uuid4().hex[:6]}", "jurisdiction": jurisdiction},
        )
        assert agency.status_code == 201, agency.text
        email = f"curator-{uuid.uuid4().hex[:10]}@example.com"
        response = self.client.post(
            "/api/v1/admin/curators",
            headers=admin.headers,
            json={
                "agency_id": agency.json()["id"],
                "email": email,
                "name": "审核员",
                "password": PASSWORD,
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Actor(
            email=email,
            token=self.login(email),
            user_id=uuid.UUID(body["id"]),
            org_id=uuid.UUID(body["org_id"]),
            role="curator",
        )


def complete_solution(**overrides: Any) -> dict[str, Any]:
    """A solution payload that may be published as it is."""
    body: dict[str, Any] = {
        "title": "注塑车间设备联网与数据采集",
        "summary": "为中小注塑厂提供即插即用的设备数采与看板",
        "description": "边缘网关接入注塑机，支持 Modbus TCP 与 OPC UA，按月订阅。",
        "capabilities": ["cap.data_acquisition", "cap.edge_gateway"],
        "scenes": [{"scene": "scene.equipment", "level": 3}],
        "industries": ["29"],
        "target_sizes": ["small", "medium"],
        "protocols": ["proto.modbus_tcp", "proto.opcua"],
        "deployments": ["saas", "edge_device"],
        "pricing": [
            {"model": "subscription", "min_fen": 50000, "max_fen": 200000, "unit": "元/设备/月"}
        ],
        "typical_delivery_days": 14,
    }
    body.update(overrides)
    return body
