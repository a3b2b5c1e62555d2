"""Recommendations through the API: only the vetted catalogue, explained, relaxed when it must,
locality as a switch, why-not, stored lists, ad-hoc matching and curators' weight overrides.

The other recommendation test modules build their catalogues with the helpers defined here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from catalog.pools.models import Pool, PoolApplication
from catalog.taxonomy import vocabulary
from core.audit import AuditRecord
from core.database import utcnow
from core.outbox import OutboxEvent, emit
from market.recommendations.index_cache import IndexCache
from market.recommendations.models import RecommendationList, RecommendationResult
from market.recommendations.service import WEIGHTS_AUDIT_ACTION
from matching import ENGINE_VERSION
from tests.support import Actor, Api, complete_solution

NEEDS = "/api/v1/needs"
CHANGZHOU = "320400"
SUZHOU = "320500"
DONGGUAN = "441900"


# --- helpers shared by the recommendation tests ------------------------------------------------


def drain(api: Api) -> None:
    """Deliver pending outbox events, failing the test if any handler failed."""
    api.client.app.state.relay.drain()  # type: ignore[attr-defined]
    with api.db.transaction() as session:
        failed = session.scalars(select(OutboxEvent).where(OutboxEvent.last_error.is_not(None)))
        assert [(e.topic, e.last_error) for e in failed] == []


def cache_of(api: Api) -> IndexCache:
    cache: IndexCache = api.client.app.state.recommendation_index  # type: ignore[attr-defined]
    return cache


def publish_solution(api: Api, owner: Actor, **overrides: Any) -> str:
    response = api.client.post(
        "/api/v1/solutions", json=complete_solution(**overrides), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    solution_id = str(response.json()["id"])
    published = api.client.post(f"/api/v1/solutions/{solution_id}/publish", headers=owner.headers)
    assert published.status_code == 200, published.text
    return solution_id


def make_pool(api: Api, curator: Actor, *, jurisdiction: str = CHANGZHOU) -> uuid.UUID:
    """A pool run by the curator's agency (rows, as the end of a pool's setup leaves them)."""
    with api.db.transaction() as session:
        pool = Pool(agency_org_id=curator.org_id, jurisdiction=jurisdiction, name="测试资源池")
        session.add(pool)
        session.flush()
        return pool.id


def list_in_pool(api: Api, pool_id: uuid.UUID, provider_id: uuid.UUID) -> uuid.UUID:
    """List the provider (入库), as the end of the vetting workflow does, and announce it."""
    with api.db.transaction() as session:
        application = PoolApplication(
            pool_id=pool_id,
            provider_id=provider_id,
            category_id="general",
            declared_at=utcnow(),
            state="listed",
            star_rating=4,
            listed_since=utcnow(),
        )
        session.add(application)
        session.flush()
        emit(session, "pool.membership.changed", provider_id=str(provider_id), state="listed")
        application_id = application.id
    drain(api)
    return application_id


def set_membership(api: Api, application_id: uuid.UUID, state: str) -> None:
    # Sanctions are another piece of work; any state but "listed" must hide the provider.
    with api.db.transaction() as session:
        application = session.get(PoolApplication, application_id)
        assert application is not None
        application.state = state
        emit(session, "pool.membership.changed", provider_id=str(application.provider_id))
    drain(api)


@dataclass
class Catalog:
    """A small vetted catalogue: a Changzhou pool, its curator and listed providers."""

    api: Api
    curator: Actor
    pool_id: uuid.UUID
    providers: dict[str, Actor] = field(default_factory=dict)
    solutions: dict[str, str] = field(default_factory=dict)
    applications: dict[str, uuid.UUID] = field(default_factory=dict)

    def provider_id(self, key: str) -> str:
        provider_id = self.providers[key].provider_id
        assert provider_id is not None
        return str(provider_id)

    def add(self, key: str, *, region: str, listed: bool = True, **solution: Any) -> None:
        owner = self.api.provider(name=f"{key}测试科技有限公司", region=region)
        self.providers[key] = owner
        self.solutions[key] = publish_solution(self.api, owner, **solution)
        if listed:
            assert owner.provider_id is not None
            self.applications[key] = list_in_pool(self.api, self.pool_id, owner.provider_id)


def daq(**overrides: Any) -> dict[str, Any]:
    """A data-acquisition listing for injection moulding (industry 29)."""
    body: dict[str, Any] = {
        "title": "注塑车间设备联网与数据采集",
        "summary": "为中小注塑厂提供设备数采与看板",
        "description": "边缘网关接入注塑机，支持 Modbus TCP，按月订阅。",
        "capabilities": ["cap.data_acquisition", "cap.edge_gateway"],
        "industries": ["29"],
        "target_sizes": ["small", "medium"],
        "protocols": ["proto.modbus_tcp"],
        "pricing": [
            {"model": "subscription", "min_fen": 50000, "max_fen": 200000, "unit": "元/设备/月"}
        ],
    }
    body.update(overrides)
    return body


def standard_catalog(api: Api) -> Catalog:
    """Three listed data-acquisition providers (Changzhou, Suzhou, Dongguan), a listed MES
    provider, and an unlisted provider with a published data-acquisition listing."""
    curator = api.curator(jurisdiction=CHANGZHOU)
    catalog = Catalog(api=api, curator=curator, pool_id=make_pool(api, curator))
    catalog.add("常州数采", region=CHANGZHOU, **daq())
    catalog.add("苏州数采", region=SUZHOU, **daq(title="苏州注塑设备数据采集"))
    catalog.add(
        "东莞数采",
        region=DONGGUAN,
        **daq(
            title="东莞设备联网数采",
            protocols=["proto.modbus_tcp", "proto.s7"],
            pricing=[{"model": "lease", "min_fen": 8000, "max_fen": 30000, "unit": "元/台/月"}],
        ),
    )
    catalog.add(
        "常州MES",
        region=CHANGZHOU,
        **daq(
            title="注塑车间MES生产执行系统",
            description="排产、报工、质量追溯的制造执行系统。",
            capabilities=["cap.mes"],
            protocols=[],
        ),
    )
    catalog.add("未入库数采", region=CHANGZHOU, listed=False, **daq(title="未入库的数采方案"))
    return catalog


def sme_with_profile(
    api: Api, *, region: str = CHANGZHOU, industry: str = "2929", employees: int = 120
) -> Actor:
    sme = api.sme(region=region)
    response = api.client.put(
        "/api/v1/sme/profile",
        json={
            "industry_code": industry,
            "employees": employees,
            "revenue_wan": 8000,
            "region_code": region,
        },
        headers=sme.headers,
    )
    assert response.status_code in (200, 201), response.text
    return sme


def create_need(api: Api, sme: Actor, **overrides: Any) -> str:
    body: dict[str, Any] = {
        "title": "注塑机联网数采",
        "description": "20台注塑机联网，做设备数据采集和看板",
        "must_capabilities": ["cap.data_acquisition"],
        "protocols": ["proto.modbus_tcp"],
        "budget_max_fen": 20_000_000,
    }
    body.update(overrides)
    response = api.client.post(NEEDS, json=body, headers=sme.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def recommend(api: Api, actor: Actor | None, need_id: str, **body: Any) -> httpx.Response:
    headers = actor.headers if actor is not None else None
    return api.client.post(f"{NEEDS}/{need_id}/recommendations", json=body, headers=headers)


def recommended(api: Api, sme: Actor, need_id: str, **body: Any) -> dict[str, Any]:
    response = recommend(api, sme, need_id, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def shown_providers(result: dict[str, Any]) -> list[str]:
    return [item["provider"]["id"] for item in result["results"]]


# --- recommendations ----------------------------------------------------------------------


def test_recommendations_contain_only_listed_providers_published_solutions(api: Api) -> None:
    catalog = standard_catalog(api)
    owner = catalog.providers["常州数采"]
    # A draft of a listed provider is not public either.
    draft = api.client.post(
        "/api/v1/solutions", json=complete_solution(**daq(title="草稿方案")), headers=owner.headers
    )
    assert draft.status_code == 201, draft.text
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)

    result = recommended(api, sme, need_id)

    listed = {catalog.provider_id(key) for key in catalog.applications}
    shown = shown_providers(result)
    assert shown
    assert set(shown) <= listed
    assert catalog.provider_id("未入库数采") not in shown
    assert draft.json()["id"] not in {item["solution"]["id"] for item in result["results"]}
    # The unlisted provider's solution is counted as excluded by the status rule.
    assert result["excluded"]["status"] >= 1
    assert result["engine_version"] == ENGINE_VERSION
    assert result["text_mode"] == "bm25"
    assert result["need_id"] == need_id
    first = result["results"][0]
    assert first["rank"] == 1
    assert first["provider"]["name"].endswith("测试科技有限公司")
    assert first["provider"]["badges"][0]["pool_id"] == str(catalog.pool_id)
    assert first["provider"]["badges"][0]["star_rating"] == 4
    assert abs(sum(first["features"].values()) - first["score"]) < 1e-4


def test_explanations_cite_the_facts_behind_the_score(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(
        api, sme, protocols=["proto.modbus_tcp", "proto.fanuc_focas"], nice_capabilities=["cap.bi"]
    )

    result = recommended(api, sme, need_id)

    by_provider = {item["provider"]["id"]: item for item in result["results"]}
    local = by_provider[catalog.provider_id("常州数采")]
    capability = vocabulary("capabilities").get("cap.data_acquisition")
    assert capability is not None
    # 1 of 2 requested capabilities (the must, not the nice-to-have BI).
    assert "覆盖您所需的 1/2 项能力" in local["explanation_zh"]
    assert capability.zh in local["explanation_zh"]
    assert "1/2" in local["explanation_en"]
    caveats_zh = [caveat["zh"] for caveat in local["caveats"]]
    bi = vocabulary("capabilities").get("cap.bi")
    assert bi is not None
    assert any(bi.zh in caveat and "尚未覆盖" in caveat for caveat in caveats_zh)
    focas = vocabulary("protocols").get("proto.fanuc_focas")
    assert focas is not None
    assert any(focas.zh in caveat and "网关" in caveat for caveat in caveats_zh)
    assert local["features"]["cap"] > 0


def test_relaxation_is_announced_when_no_provider_covers_every_must(api: Api) -> None:
    standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme, must_capabilities=["cap.data_acquisition", "cap.mes"])

    result = recommended(api, sme, need_id)

    steps = [step["constraint"] for step in result["relaxations"]]
    assert steps[0] == "capability"
    assert result["relaxations"][0]["step"] == 1
    assert "至少满足一项" in result["relaxations"][0]["zh"]
    assert result["results"], "relaxing the must rule finds the partial matches"
    caveats = [caveat["zh"] for item in result["results"] for caveat in item["caveats"]]
    assert any(caveat.startswith("符合条件的服务商不足，已放宽") for caveat in caveats)


def test_locality_switch_changes_the_order_but_never_excludes(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    # Dongguan offers the preferred lease model; Changzhou is local, which outweighs it only
    # while the SME prefers local providers.
    need_id = create_need(api, sme, preferred_pricing=["lease"])

    local_first = recommended(api, sme, need_id, prefer_local=True)
    anywhere = recommended(api, sme, need_id, prefer_local=False)

    assert set(shown_providers(local_first)) == set(shown_providers(anywhere))
    assert len(local_first["results"]) == len(anywhere["results"])
    assert shown_providers(local_first) != shown_providers(anywhere)
    assert shown_providers(local_first)[0] == catalog.provider_id("常州数采")
    assert shown_providers(anywhere)[0] == catalog.provider_id("东莞数采")
    assert all(item["features"]["region"] == 0 for item in anywhere["results"])
    assert local_first["prefer_local"] is True
    assert anywhere["prefer_local"] is False


def test_why_not_names_the_rule_that_excluded_a_provider(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)

    def why(key: str, **params: Any) -> dict[str, Any]:
        response = api.client.get(
            f"{NEEDS}/{need_id}/why-not/{catalog.provider_id(key)}",
            params=params,
            headers=sme.headers,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    unlisted = why("未入库数采")
    assert unlisted["status"] == "excluded"
    assert unlisted["constraint"] == "status"
    assert "未上架" in unlisted["zh"]

    mes = why("常州MES")
    assert mes["status"] == "excluded"
    assert mes["constraint"] == "capability"
    assert "未覆盖" in mes["zh"]

    # With one place, the other data-acquisition providers rank below it with a score gap.
    below = why("东莞数采", k=1)
    assert below["status"] in ("ranked_below", "reranked")
    assert below["rank"] >= 2
    assert below["gap"] is not None

    unknown = api.client.get(f"{NEEDS}/{need_id}/why-not/{uuid.uuid4()}", headers=sme.headers)
    assert unknown.status_code == 200
    assert unknown.json()["status"] == "not_found"


def test_the_stored_list_keeps_the_ranking_and_reads_back(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)

    result = recommended(api, sme, need_id, k=3)

    with api.db.transaction() as session:
        stored = session.get(RecommendationList, uuid.UUID(result["list_id"]))
        assert stored is not None
        assert str(stored.need_id) == need_id
        assert stored.source == "need"
        assert stored.requester_org_id == sme.org_id
        assert stored.engine_version == ENGINE_VERSION
        assert stored.weights_fingerprint == result["weights_fingerprint"]
        assert stored.k == 3
        assert stored.request["must_capabilities"] == ["cap.data_acquisition"]
        assert stored.region_code == CHANGZHOU
        rows = session.scalars(
            select(RecommendationResult)
            .where(RecommendationResult.list_id == stored.id)
            .order_by(RecommendationResult.rank)
        ).all()
        assert [str(row.provider_id) for row in rows] == shown_providers(result)
        assert [row.rank for row in rows] == list(range(1, len(rows) + 1))
        assert [round(row.score, 6) for row in rows] == [
            item["score"] for item in result["results"]
        ]

    read = api.client.get(
        f"{NEEDS}/{need_id}/recommendations/{result['list_id']}", headers=sme.headers
    )
    assert read.status_code == 200, read.text
    assert read.json()["results"] == result["results"]

    shown = result["results"][0]["provider"]["id"]
    in_list = api.client.get(
        f"{NEEDS}/{need_id}/recommendations/{result['list_id']}/why-not/{shown}",
        headers=sme.headers,
    )
    assert in_list.status_code == 200, in_list.text
    assert in_list.json()["status"] == "shown"
    assert in_list.json()["basis"] == "stored_list"
    missing = api.client.get(
        f"{NEEDS}/{need_id}/recommendations/{result['list_id']}/why-not/"
        f"{catalog.provider_id('未入库数采')}",
        headers=sme.headers,
    )
    assert missing.json()["constraint"] == "status"
    assert missing.json()["basis"] == "current_catalogue"


def test_adhoc_match_needs_no_account_and_is_stored_without_a_need(api: Api) -> None:
    catalog = standard_catalog(api)

    response = api.client.post(
        "/api/v1/match",
        json={
            "text": "注塑机设备联网数据采集",
            "must_capabilities": ["cap.data_acquisition"],
            "industry_code": "29",
            "employees": 120,
            "revenue_wan": 8000,
            "region_code": CHANGZHOU,
            "budget_max_fen": 20_000_000,
            "k": 5,
        },
    )

    assert response.status_code == 201, response.text
    result = response.json()
    assert result["need_id"] is None
    assert catalog.provider_id("常州数采") in shown_providers(result)
    assert catalog.provider_id("未入库数采") not in shown_providers(result)
    with api.db.transaction() as session:
        stored = session.get(RecommendationList, uuid.UUID(result["list_id"]))
        assert stored is not None
        assert stored.need_id is None
        assert stored.source == "adhoc"
        assert stored.requester_org_id is None
        # Size derived from employees and revenue, as an SME profile derives it.
        assert stored.request["sme_size"] == "small"


def test_adhoc_match_refuses_an_inverted_budget_and_unknown_codes(api: Api) -> None:
    inverted = api.client.post("/api/v1/match", json={"budget_min_fen": 500, "budget_max_fen": 100})
    assert inverted.status_code == 422
    unknown = api.client.post("/api/v1/match", json={"must_capabilities": ["cap.nope"]})
    assert unknown.status_code == 422
    extra = api.client.post("/api/v1/match", json={"weights": {"cap": 1}})
    assert extra.status_code == 422


def test_pool_weight_overrides_change_the_ranking_and_are_audited(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme, preferred_pricing=["lease"])
    before = recommended(api, sme, need_id)
    assert shown_providers(before)[0] == catalog.provider_id("常州数采")
    assert before["weights_pool_id"] is None

    response = api.client.put(
        f"/api/v1/pools/{catalog.pool_id}/matching-weights",
        json={"overrides": {"region": 0.0, "pricing": 0.2}, "reason": "试点：按能力与计费匹配优先"},
        headers=catalog.curator.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["overrides"] == {"region": 0.0, "pricing": 0.2}
    assert body["effective"]["region"] == 0.0
    assert body["effective"]["cap"] == 0.25

    after = recommended(api, sme, need_id)
    assert after["weights_pool_id"] == str(catalog.pool_id)
    assert after["weights_fingerprint"] == body["fingerprint"] != before["weights_fingerprint"]
    assert shown_providers(after)[0] == catalog.provider_id("东莞数采")

    with api.db.transaction() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action == WEIGHTS_AUDIT_ACTION)
        ).all()
    assert len(records) == 1
    assert records[0].actor_user_id == catalog.curator.user_id
    assert records[0].scope_id == catalog.pool_id
    assert records[0].before == {"overrides": {}}
    assert records[0].after == {"overrides": {"region": 0.0, "pricing": 0.2}}
    assert records[0].reason == "试点：按能力与计费匹配优先"

    read = api.client.get(
        f"/api/v1/pools/{catalog.pool_id}/matching-weights", headers=catalog.curator.headers
    )
    assert read.json()["overrides"] == {"region": 0.0, "pricing": 0.2}


def test_an_sme_outside_the_pools_jurisdiction_keeps_the_default_weights(api: Api) -> None:
    catalog = standard_catalog(api)
    api.client.put(
        f"/api/v1/pools/{catalog.pool_id}/matching-weights",
        json={"overrides": {"region": 0.0}},
        headers=catalog.curator.headers,
    )
    sme = sme_with_profile(api, region=DONGGUAN)
    need_id = create_need(api, sme)

    result = recommended(api, sme, need_id)

    assert result["weights_pool_id"] is None


def test_invalid_weight_overrides_are_refused_with_the_reason(api: Api) -> None:
    catalog = standard_catalog(api)
    url = f"/api/v1/pools/{catalog.pool_id}/matching-weights"
    headers = catalog.curator.headers

    for overrides, words in (
        ({"colour": 0.2}, "unknown weight names"),
        ({"cap": -0.1}, "must not be negative"),
        ({"prior_mean": 4.0}, "index is built"),
        ({"budget_tolerance_relaxed": 1.0}, "budget_tolerance_relaxed"),
    ):
        response = api.client.put(url, json={"overrides": overrides}, headers=headers)
        assert response.status_code == 422, (overrides, response.text)
        assert words in response.json()["error"]["message"], response.text
    with api.db.transaction() as session:
        assert not session.scalars(
            select(AuditRecord).where(AuditRecord.action == WEIGHTS_AUDIT_ACTION)
        ).all()
