"""GET /api/v1/search and /api/v1/search/suggest over the golden catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog.discovery.backends import synonym_table
from catalog.discovery.documents import iter_documents
from core.database import Database
from core.settings import get_settings
from search.sql_backend import SqlBackend
from tests.search import golden

SEARCH = "/api/v1/search"


@pytest.fixture(autouse=True)
def embedded_search(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MARKET_MEILI_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def catalogue(db: Database) -> None:
    with db.transaction() as session:
        golden.load_corpus(session)
        SqlBackend(session, synonyms=synonym_table()).reindex(iter_documents(session))


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(SEARCH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def keys(body: dict[str, Any]) -> list[str]:
    names = {golden.doc_id(s.key): s.key for s in (*golden.SOLUTIONS, *golden.PROVIDERS)}
    return sorted(names[hit["id"]] for hit in body["hits"])


def error_field(response: Any) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["error"]["details"][0]["field"])


@pytest.mark.usefixtures("catalogue")
def test_search_page_has_hits_with_highlights_total_facets_and_applied_filters(
    client: TestClient,
) -> None:
    body = search(
        client, q="数采", province="320000", facets="capability,province", sort="relevance"
    )
    assert set(body) == {
        "hits",
        "total",
        "page",
        "size",
        "facets",
        "applied_filters",
        "suggestion",
    }
    (hit,) = body["hits"]
    assert set(hit) == {
        "id",
        "kind",
        "ref_id",
        "provider_id",
        "title",
        "provider_name",
        "summary",
        "highlights",
        "rating",
        "facets",
    }
    assert hit["ref_id"] == str(golden.uid("S1"))
    assert hit["kind"] == "solution"
    assert hit["provider_name"] == "常州示例精工科技有限公司"
    assert hit["rating"] == 4.0
    assert "<mark>数据采集</mark>" in hit["highlights"]["title"]
    assert hit["facets"]["province"] == ["320000"]
    assert (body["total"], body["page"], body["size"]) == (1, 1, 20)
    assert body["facets"]["province"] == {"320000": 1}
    assert body["facets"]["capability"] == {"cap.data_acquisition": 1, "cap.edge_gateway": 1}
    assert body["applied_filters"] == {"province": ["320000"]}
    assert body["suggestion"] is None


@pytest.mark.usefixtures("catalogue")
def test_repeated_parameters_mean_or_and_different_ones_and(client: TestClient) -> None:
    assert keys(search(client, industry=["29", "21"])) == ["S1", "S5"]
    assert keys(search(client, industry=["29", "21"], company_size="medium")) == ["S1", "S5"]
    assert keys(search(client, industry=["29", "21"], company_size="micro")) == []
    both = search(client, capability=["cap.mes", "cap.wms"], facets=["capability", "size"])
    assert keys(both) == ["S10", "S2", "S5"]
    assert set(both["facets"]) == {"capability", "size"}
    assert both["applied_filters"] == {"capability": ["cap.mes", "cap.wms"]}


@pytest.mark.usefixtures("catalogue")
def test_filter_values_are_normalised_before_use(client: TestClient) -> None:
    body = search(client, industry="C29", pool=str(golden.uid("pool:dg")).upper())
    assert body["applied_filters"] == {"industry": ["29"], "pool": [str(golden.uid("pool:dg"))]}
    assert keys(body) == []
    assert keys(search(client, industry="C39", pool=str(golden.uid("pool:dg")))) == ["S3"]


@pytest.mark.usefixtures("catalogue")
def test_providers_pinyin_typos_and_pages(client: TestClient) -> None:
    assert keys(search(client, q="czsl", kind="provider")) == ["P1"]
    typo = search(client, q="modbos")
    assert typo["suggestion"] == "modbus"
    assert keys(typo) == ["S1", "S4"]
    first = search(client, size=3, page=1, sort="newest")
    second = search(client, size=3, page=2, sort="newest")
    assert first["total"] == second["total"] == len(golden.PUBLIC_SOLUTIONS)
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}


@pytest.mark.usefixtures("catalogue")
def test_hidden_documents_are_not_reachable_by_any_filter(client: TestClient) -> None:
    # P4 (in notice) and P5 (rejected) are in the Jiangsu pool; nothing of theirs shows.
    body = search(client, pool=str(golden.uid("pool:js")), facets="pool")
    assert keys(body) == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
    assert body["facets"]["pool"][str(golden.uid("pool:js"))] == 7
    assert keys(search(client, q="无锡", kind="provider")) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"capability": "cap.nonsense"}, "query.capability"),
        ({"capability": ["cap.mes", "cap.nonsense"]}, "query.capability"),
        ({"industry": "99"}, "query.industry"),
        ({"industry": "3411"}, "query.industry"),
        ({"company_size": "huge"}, "query.company_size"),
        ({"protocol": "proto.carrier_pigeon"}, "query.protocol"),
        ({"province": "320400"}, "query.province"),
        ({"city": "320000"}, "query.city"),
        ({"city": "99xx00"}, "query.city"),
        ({"locality": "nearby"}, "query.locality"),
        ({"pricing_model": "free"}, "query.pricing_model"),
        ({"deployment": "mainframe"}, "query.deployment"),
        ({"provider_type": "reseller"}, "query.provider_type"),
        ({"pool": "not-a-uuid"}, "query.pool"),
        ({"star_rating": "6"}, "query.star_rating"),
        ({"certification": " "}, "query.certification"),
        ({"facets": "capability,colour"}, "query.facets"),
        ({"kind": "case"}, "query.kind"),
        ({"sort": "random"}, "query.sort"),
        ({"size": 1000}, "query.size"),
    ],
)
def test_invalid_filters_are_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    assert error_field(client.get(SEARCH, params=params)) == field


@pytest.mark.usefixtures("catalogue")
def test_suggestions_by_prefix_substring_and_pinyin(client: TestClient) -> None:
    response = client.get(f"{SEARCH}/suggest", params={"q": "czsl"})
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"text": "常州示例精工科技有限公司", "kind": "provider", "ref_id": str(golden.uid("P1"))}
    ]
    texts = [item["text"] for item in client.get(f"{SEARCH}/suggest", params={"q": "能耗"}).json()]
    assert texts == ["能耗监测与碳排放管理平台"]
    typed = client.get(f"{SEARCH}/suggest", params={"q": "Predic", "limit": 1}).json()
    assert [item["ref_id"] for item in typed] == [str(golden.uid("S7"))]
    assert client.get(f"{SEARCH}/suggest", params={"q": "无锡未入库"}).json() == []
    assert error_field(client.get(f"{SEARCH}/suggest", params={"q": ""})) == "query.q"


@pytest.mark.usefixtures("catalogue")
def test_readiness_reports_the_index(client: TestClient) -> None:
    search_state = client.get("/readyz").json()["checks"]["search"]
    assert search_state["backend"] == "embedded"
    assert search_state["status"] == "ok"
    assert search_state["documents"] == 12
