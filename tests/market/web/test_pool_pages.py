"""The public pool pages: the list of resource pools, a pool's listed providers with their
badges and its open 公示, and objections raised from the page by anyone logged in."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.catalog.pools.test_application_lifecycle import Flow, new_flow
from tests.market.web.test_pages import Browser, _text
from tests.support import Api


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


def objections(api: Api, flow: Flow) -> list[str]:
    response = api.client.get(
        f"/api/v1/applications/{flow.app['id']}/objections", headers=flow.curator.headers
    )
    assert response.status_code == 200, response.text
    return [o["text"] for o in response.json()]


def test_the_pool_list_shows_each_pool_with_its_jurisdiction_and_counts(
    api: Api, browser: Browser
) -> None:
    flow = new_flow(api).listed()

    response = browser.get("/pools")
    assert response.status_code == 200
    text = _text(response)
    assert flow.pool["name"] in text
    assert "常州市" in text
    assert "1 家入库服务商" in text
    assert f'href="/pools/{flow.pool["id"]}"' in response.text

    elsewhere = _text(browser.get("/pools?region=110000"))
    assert flow.pool["name"] not in elsewhere


def test_a_pool_page_shows_listed_providers_with_badges_and_the_open_notice(
    api: Api, browser: Browser
) -> None:
    listed = new_flow(api).listed()
    response = browser.get(f"/pools/{listed.pool['id']}")
    assert response.status_code == 200
    text = _text(response)
    assert listed.app["provider_name"] in text
    assert "注塑行业" in text
    assert "★" * listed.app["star_rating"] in text
    assert "入库" in text
    assert "有效期至" in text
    assert "目前没有处于公示期的服务商" in text

    in_notice = new_flow(api).in_notice()
    notice = _text(browser.get(f"/pools/{in_notice.pool['id']}"))
    assert in_notice.app["provider_name"] in notice
    assert "公示截止" in notice
    assert "登录后可提出异议" in notice


def test_pool_pages_render_in_english_too(api: Api, browser: Browser) -> None:
    flow = new_flow(api).in_notice()
    browser.client.get("/lang/en?next=/pools")
    listing = _text(browser.get("/pools"))
    assert "Resource pools" in listing
    page = _text(browser.get(f"/pools/{flow.pool['id']}"))
    assert "Public notice (公示)" in page
    assert "Listed providers" in page


def test_a_logged_in_user_raises_an_objection_from_the_notice(api: Api, browser: Browser) -> None:
    flow = new_flow(api).in_notice()
    sme = api.sme()
    browser.login(sme.email)
    path = f"/pools/{flow.pool['id']}"
    assert "提交异议" in _text(browser.get(path))

    empty = browser.post(f"{path}/notices/{flow.app['id']}/objection", {"text": " "})
    assert empty.status_code == 303
    assert "提出异议: 此项为必填项。" in _text(browser.get(path))
    assert objections(api, flow) == []

    sent = browser.post(f"{path}/notices/{flow.app['id']}/objection", {"text": "该企业案例存疑"})
    assert sent.status_code == 303
    assert "您的异议已记录" in _text(browser.get(sent.headers["location"]))
    assert objections(api, flow) == ["该企业案例存疑"]


def test_an_objection_needs_a_login_and_the_notice_of_this_pool(api: Api, browser: Browser) -> None:
    flow = new_flow(api).in_notice()
    other = new_flow(api).listed()
    path = f"/pools/{flow.pool['id']}/notices/{flow.app['id']}/objection"
    browser.get(f"/pools/{flow.pool['id']}")

    anonymous = browser.post(path, {"text": "匿名异议"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")

    browser.login(api.sme().email)
    browser.get(f"/pools/{flow.pool['id']}")
    wrong_pool = browser.post(
        f"/pools/{other.pool['id']}/notices/{flow.app['id']}/objection", {"text": "错池异议"}
    )
    assert wrong_pool.status_code == 404
    unknown = browser.post(
        f"/pools/{flow.pool['id']}/notices/{uuid.uuid4()}/objection", {"text": "x"}
    )
    assert unknown.status_code == 404
    listed = browser.post(
        f"/pools/{other.pool['id']}/notices/{other.app['id']}/objection", {"text": "公示已结束"}
    )
    assert listed.status_code == 303
    assert "申报当前状态下无法执行此操作" in _text(browser.get(listed.headers["location"]))
    assert objections(api, flow) == []


def test_the_pool_page_links_its_curators_to_the_queue(api: Api, browser: Browser) -> None:
    flow = new_flow(api)
    browser.login(flow.curator.email)
    assert (
        f'href="/curator?pool={flow.pool["id"]}"' in browser.get(f"/pools/{flow.pool['id']}").text
    )
    browser.post("/logout")
    browser.login(api.curator().email)
    assert "管理此资源池" not in _text(browser.get(f"/pools/{flow.pool['id']}"))


def test_an_unknown_pool_is_a_404_page(browser: Browser) -> None:
    assert browser.get(f"/pools/{uuid.uuid4()}").status_code == 404
    assert browser.get("/pools/not-a-uuid").status_code == 404
