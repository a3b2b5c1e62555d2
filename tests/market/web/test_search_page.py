"""The search page: query, facets as GET checkboxes, highlights, pool badges, sort, paging,
"did you mean" and the empty state."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.outbox import OutboxEvent
from tests.market.web.test_pages import Browser, _published, _text
from tests.support import Api


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


def _flat(response: Any) -> str:
    """Visible text without whitespace: highlights split words with tags."""
    return "".join(_text(response).split())


def drain(api: Api) -> None:
    api.client.app.state.relay.drain()  # type: ignore[attr-defined]
    with api.db.transaction() as session:
        failed = session.scalars(select(OutboxEvent).where(OutboxEvent.last_error.is_not(None)))
        assert [(e.topic, e.last_error) for e in failed] == []


@pytest.fixture
def catalogue(api: Api) -> dict[str, Any]:
    provider = api.provider(listed=True, name="常州搜索页测试科技有限公司")
    energy = _published(
        api,
        provider,
        title="空压站能耗监测与优化",
        summary="空压机能耗在线监测",
        capabilities=["cap.energy_mgmt"],
    )
    connect = _published(api, provider, title="注塑机联网数据采集")
    drain(api)
    return {"provider": provider, "energy": energy, "connect": connect}


def test_search_finds_highlights_and_badges_published_solutions(
    catalogue: dict[str, Any], browser: Browser
) -> None:
    page = browser.get("/search?q=能耗")
    assert page.status_code == 200
    assert "<mark>能耗</mark>" in page.text
    text = _flat(page)
    assert "空压站能耗监测与优化" in text
    assert "注塑机联网数据采集" not in text
    assert "常州搜索页测试科技有限公司" in text
    assert "已入库：测试资源池" in text
    assert "★★★★" in text


def test_facets_are_checkboxes_with_counts_and_narrow_the_results(
    catalogue: dict[str, Any], browser: Browser
) -> None:
    everything = browser.get("/search")
    assert 'name="capability" value="cap.energy_mgmt"' in everything.text
    assert "注塑机联网数据采集" in everything.text
    narrowed = browser.get("/search?capability=cap.energy_mgmt")
    assert "空压站能耗监测与优化" in narrowed.text
    assert "注塑机联网数据采集" not in narrowed.text
    assert 'value="cap.energy_mgmt" checked' in narrowed.text
    # An edited address with an unknown code is ignored, not an error page.
    assert browser.get("/search?capability=cap.nonsense&star_rating=9").status_code == 200


def test_providers_can_be_searched_and_sorted(catalogue: dict[str, Any], browser: Browser) -> None:
    page = browser.get("/search?kind=provider&sort=newest&q=常州搜索页")
    text = _flat(page)
    assert "常州搜索页测试科技有限公司" in text
    assert f'href="/providers/{catalogue["provider"].provider_id}"' in page.text
    assert '<option value="newest" selected>' in page.text


def test_nothing_found_shows_the_wizard_and_english_switch(
    catalogue: dict[str, Any], browser: Browser
) -> None:
    empty = browser.get("/search?q=量子纠缠光刻机")
    assert "没有符合的结果" in _text(empty)
    assert 'href="/sme/needs/new"' in empty.text
    browser.client.get("/lang/en?next=/search")
    english = browser.get("/search?q=量子纠缠光刻机")
    assert "Nothing matches this search." in _text(english)


def test_a_misspelt_query_suggests_a_correction(
    catalogue: dict[str, Any], browser: Browser
) -> None:
    page = browser.get("/search?q=modbos")
    assert "你是不是要找" in _text(page)
    assert 'href="/search?q=modbus' in page.text
    assert "注塑机联网数据采集" in _flat(page)


def test_many_results_are_paged(api: Api, browser: Browser) -> None:
    provider = api.provider(listed=True)
    for n in range(12):
        _published(api, provider, title=f"分页测试方案{n:02d}")
    drain(api)
    first = browser.get("/search?q=分页测试方案")
    assert "第 1 / 2 页 · 共 12 条" in _text(first)
    assert 'rel="next"' in first.text
    second = browser.get("/search?q=分页测试方案&page=2")
    assert second.status_code == 200
    assert 'rel="prev"' in second.text


def test_home_search_box_goes_to_the_search_page(browser: Browser) -> None:
    home = browser.get("/")
    assert 'action="/search"' in home.text
    assert 'href="/sme/needs/new"' in home.text
