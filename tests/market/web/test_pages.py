"""The web pages through the ASGI app: rendering, language, sessions, CSRF, forms, ownership."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient
from httpx import Response

from market.web import i18n
from tests.support import PASSWORD, Actor, Api, complete_solution, credit_code

WEB_DIR = Path(__file__).resolve().parents[3] / "market" / "web"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A TestClient that, like a person, posts forms with the token of the page it last saw."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Response:
        response = self.client.get(path, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.token = html.unescape(found.group(1))
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Response:
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = self.token
        return self.client.post(path, data=body, follow_redirects=False)

    def login(self, email: str, password: str = PASSWORD) -> Response:
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


def _published(api: Api, provider: Actor, **overrides: Any) -> dict[str, Any]:
    created = api.client.post(
        "/api/v1/solutions", headers=provider.headers, json=complete_solution(**overrides)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    published = api.client.post(f"/api/v1/solutions/{body['id']}/publish", headers=provider.headers)
    assert published.status_code == 200, published.text
    return dict(published.json())


def _published_case(api: Api, provider: Actor, solution_id: str) -> dict[str, Any]:
    created = api.client.post(
        "/api/v1/cases",
        headers=provider.headers,
        json={
            "title": "某注塑厂设备联网改造",
            "client_industry": "29",
            "problem": "设备状态靠人工巡检",
            "solution_text": "加装边缘网关采集注塑机数据",
            "outcomes": [{"kpi": "设备联网率", "before": 20, "after": 85, "unit": "%"}],
            "case_date": "2025-06-01",
            "solution_ids": [solution_id],
        },
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    published = api.client.post(f"/api/v1/cases/{case_id}/publish", headers=provider.headers)
    assert published.status_code == 200, published.text
    return dict(published.json())


def _certify(api: Api, provider: Actor, name: str, valid_until: date) -> None:
    response = api.client.post(
        f"/api/v1/providers/{provider.provider_id}/certifications",
        headers=provider.headers,
        json={"name": name, "issuer": "认证机构", "valid_until": valid_until.isoformat()},
    )
    assert response.status_code == 201, response.text


def _text(response: Response) -> str:
    """Visible text, roughly: tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


# --- rendering and language ------------------------------------------------------------------


def test_every_public_page_renders_in_chinese_and_english(api: Api, browser: Browser) -> None:
    provider = api.provider(listed=True)
    solution = _published(api, provider)
    _published_case(api, provider, solution["id"])
    pages = [
        "/",
        "/solutions",
        "/solutions?capability=cap.data_acquisition&page=1",
        "/solutions?q=数采",
        f"/solutions/{solution['id']}",
        "/providers",
        f"/providers/{provider.provider_id}",
        "/login",
        "/register",
        "/register?kind=provider",
    ]
    for path in pages:
        zh = browser.get(path)
        assert zh.status_code == 200, path
        assert '<html lang="zh-CN">' in zh.text
        assert "工业互联网服务资源池" in zh.text, path
    switched = browser.client.get("/lang/en?next=/solutions", follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/solutions"
    for path in pages:
        en = browser.get(path)
        assert en.status_code == 200, path
        assert '<html lang="en">' in en.text
        assert "Industrial Internet Service Marketplace" in en.text, path


def test_solution_page_shows_pricing_scenes_protocols_cases_and_expired_certifications(
    api: Api, browser: Browser
) -> None:
    provider = api.provider(listed=True)
    solution = _published(api, provider)
    _published_case(api, provider, solution["id"])
    _certify(api, provider, "ISO 9001", date.today() + timedelta(days=300))
    _certify(api, provider, "两化融合管理体系", date.today() - timedelta(days=3))
    text = _text(browser.get(f"/solutions/{solution['id']}"))
    assert "订阅 / 服务租赁" in text
    assert "¥500 – ¥2,000" in text
    assert "元/设备/月" in text
    assert "设备管理" in text
    assert "3 级" in text
    assert "Modbus TCP" in text
    assert "设备联网率" in text
    assert "85 %" in text
    assert re.search(r"两化融合管理体系\s+已过期", text)
    assert not re.search(r"ISO 9001\s+已过期", text)


def test_home_lists_popular_capabilities_and_catalogue_numbers(api: Api, browser: Browser) -> None:
    _published(api, api.provider(listed=True))
    text = _text(browser.get("/"))
    assert "热门服务能力" in text
    assert "设备联网与数据采集" in text
    assert "个已发布的解决方案" in text or "服务资源池" in text


def test_unknown_page_is_an_html_404_but_the_api_stays_json(browser: Browser) -> None:
    page = browser.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text
    bad_id = browser.get("/solutions/not-a-uuid")
    assert bad_id.status_code == 404
    assert "页面不存在" in bad_id.text
    api = browser.get("/api/v1/solutions/00000000-0000-0000-0000-000000000000")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "solution_not_found"


def test_every_string_in_the_pages_has_a_chinese_translation() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    zh = i18n.translations("zh_CN")
    untranslated = []
    for _file, _line, message, *_ in extract_from_dir(
        str(WEB_DIR), method_map, options_map=options, keywords=keywords
    ):
        singular = message[0] if isinstance(message, tuple) else message
        if zh.gettext(singular) == singular:
            untranslated.append(singular)
    assert untranslated == []


# --- sessions and CSRF -----------------------------------------------------------------------


def test_provider_login_opens_the_workbench_and_logout_ends_the_session(
    api: Api, browser: Browser
) -> None:
    provider = api.provider()
    response = browser.login(provider.email)
    assert response.headers["location"] == "/provider"
    workbench = browser.get("/provider")
    assert workbench.status_code == 200
    assert "欢迎回来" in workbench.text  # the flash message survives the redirect
    assert "您还没有解决方案" in workbench.text
    assert "欢迎回来" not in browser.get("/provider").text  # and is shown once
    assert browser.post("/logout").status_code == 303
    assert browser.get("/provider", follow_redirects=False).status_code == 303


def test_wrong_password_is_said_beside_the_form(api: Api, browser: Browser) -> None:
    provider = api.provider()
    browser.get("/login")
    response = browser.post("/login", {"email": provider.email, "password": "wrong-pass-1"})
    assert response.status_code == 401
    assert "邮箱或密码错误" in response.text
    assert f'value="{provider.email}"' in response.text


def test_forms_without_the_csrf_token_are_refused(api: Api, browser: Browser) -> None:
    provider = api.provider()
    browser.get("/login")
    refused = browser.post("/login", {"email": provider.email, "password": PASSWORD}, csrf=False)
    assert refused.status_code == 403
    assert "表单已过期" in refused.text
    browser.login(provider.email)
    forged = browser.post("/provider/solutions/new", {"title": "伪造"}, csrf=False)
    assert forged.status_code == 403
    wrong = browser.client.post(
        "/provider/solutions/new",
        data={"title": "伪造", "csrf_token": "0" * 64},
        follow_redirects=False,
    )
    assert wrong.status_code == 403


def test_the_api_still_demands_the_csrf_header_for_cookie_sessions(
    api: Api, browser: Browser
) -> None:
    provider = api.provider()
    browser.login(provider.email)
    response = browser.client.post("/api/v1/solutions", json=complete_solution())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_pages_behind_login_redirect_to_login_and_back(api: Api, browser: Browser) -> None:
    response = browser.get("/provider/solutions/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/provider/solutions/new"
    provider = api.provider()
    browser.get("/login?next=/provider/solutions/new")
    done = browser.post(
        "/login",
        {"email": provider.email, "password": PASSWORD, "next": "/provider/solutions/new"},
    )
    assert done.headers["location"] == "/provider/solutions/new"


def test_login_next_cannot_leave_the_site(api: Api, browser: Browser) -> None:
    provider = api.provider()
    browser.get("/login")
    done = browser.post(
        "/login", {"email": provider.email, "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert done.headers["location"] == "/provider"
    switched = browser.client.get("/lang/en?next=https://evil.example/", follow_redirects=False)
    assert switched.headers["location"] == "/"


def test_an_sme_cannot_open_the_provider_workbench(api: Api, browser: Browser) -> None:
    sme = api.sme()
    browser.login(sme.email)
    response = browser.get("/provider")
    assert response.status_code == 403
    assert "这些页面供服务商使用" in response.text


# --- registration ----------------------------------------------------------------------------


def test_registering_a_provider_logs_in_and_opens_the_workbench(browser: Browser) -> None:
    browser.get("/register?kind=provider")
    form = {
        "kind": "provider",
        "org_name": "常州网页测试科技有限公司",
        "credit_code": credit_code(),
        "region_code": "320400",
        "provider_type": "integrator",
        "name": "李工",
        "email": "web-register@example.com",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    bad = browser.post("/register", {**form, "credit_code": "91320400ABC", "password_confirm": "x"})
    assert bad.status_code == 422
    assert "统一社会信用代码为 18 位" in bad.text
    assert "两次输入的密码不一致" in bad.text
    assert 'value="常州网页测试科技有限公司"' in bad.text  # what was typed is kept
    done = browser.post("/register", form)
    assert done.status_code == 303
    assert done.headers["location"] == "/provider"
    assert "常州网页测试科技有限公司" in browser.get("/provider").text


def test_registering_a_provider_without_a_type_is_told_beside_the_select(
    browser: Browser,
) -> None:
    browser.get("/register")
    response = browser.post(
        "/register",
        {
            "kind": "provider",
            "org_name": "无类型公司",
            "credit_code": credit_code(),
            "region_code": "320400",
            "name": "王工",
            "email": "no-type@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert response.status_code == 422
    assert 'id="err-provider_type"' in response.text
    assert "注册服务商须选择服务商类型" in response.text


# --- the solution editor ---------------------------------------------------------------------


def _solution_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "网页创建的设备联网方案",
        "summary": "即插即用的数采网关",
        "description": "支持 Modbus 与 OPC UA。",
        "capabilities": ["cap.data_acquisition", "cap.edge_gateway"],
        "target_sizes": ["small"],
        "deployments": ["saas"],
        "protocols": ["proto.modbus_tcp"],
        "industries": ["29"],
        "scene:scene.equipment": "3",
        "typical_delivery_days": "14",
        "pricing.0.model": "subscription",
        "pricing.0.min": "500",
        "pricing.0.max": "2,000",
        "pricing.0.unit": "元/设备/月",
        "version": "",
    }
    form.update(overrides)
    return form


def test_provider_creates_fixes_and_publishes_a_solution(api: Api, browser: Browser) -> None:
    provider = api.provider()
    browser.login(provider.email)
    browser.get("/provider/solutions/new")
    invalid = browser.post("/provider/solutions/new", _solution_form(**{"pricing.0.max": "100"}))
    assert invalid.status_code == 422
    assert 'id="err-pricing-0-max"' in invalid.text
    assert "最高价不能低于最低价" in invalid.text
    assert 'value="网页创建的设备联网方案"' in invalid.text
    created = browser.post("/provider/solutions/new", _solution_form())
    assert created.status_code == 303
    edit_url = created.headers["location"]
    solution_id = edit_url.split("/")[3]
    editor = browser.get(edit_url)
    assert "草稿已保存" in editor.text
    assert 'value="2000"' in editor.text  # 元, as typed, from fen
    published = browser.post(f"/provider/solutions/{solution_id}/publish", {"version": "1"})
    assert published.status_code == 303
    assert published.headers["location"] == f"/solutions/{solution_id}"
    page = _text(browser.get(published.headers["location"]))
    assert "网页创建的设备联网方案" in page
    assert "¥500 – ¥2,000" in page
    stored = api.client.get(f"/api/v1/solutions/{solution_id}").json()
    assert stored["pricing"][0] == {
        "model": "subscription",
        "min_fen": 50000,
        "max_fen": 200000,
        "unit": "元/设备/月",
    }
    assert stored["scenes"] == [{"scene": "scene.equipment", "level": 3}]


def test_publishing_an_incomplete_draft_marks_what_is_missing(api: Api, browser: Browser) -> None:
    provider = api.provider()
    browser.login(provider.email)
    browser.get("/provider/solutions/new")
    created = browser.post("/provider/solutions/new", {"title": "只有标题的草稿", "version": ""})
    solution_id = created.headers["location"].split("/")[3]
    browser.get(created.headers["location"])
    response = browser.post(f"/provider/solutions/{solution_id}/publish", {"version": "1"})
    assert response.status_code == 422
    assert "发布前请补全标出的各项" in response.text
    for field in ("summary", "capabilities", "pricing"):
        assert f'id="err-{field}"' in response.text


def test_a_stale_edit_is_refused_with_a_clear_message(api: Api, browser: Browser) -> None:
    provider = api.provider()
    solution = _published(api, provider)
    browser.login(provider.email)
    browser.get(f"/provider/solutions/{solution['id']}/edit")
    # A colleague saves in between, through the API.
    current = api.client.get(f"/api/v1/solutions/{solution['id']}")
    changed = api.client.patch(
        f"/api/v1/solutions/{solution['id']}",
        headers={**provider.headers, "If-Match": current.headers["ETag"]},
        json={"summary": "同事改过的简介"},
    )
    assert changed.status_code == 200
    stale = browser.post(
        f"/provider/solutions/{solution['id']}/edit",
        _solution_form(title="我的修改", version=str(solution["version"])),
    )
    assert stale.status_code == 412
    assert "有人修改了该条目" in stale.text
    assert 'value="我的修改"' in stale.text  # nothing typed is lost from the page
    kept = api.client.get(f"/api/v1/solutions/{solution['id']}").json()
    assert kept["summary"] == "同事改过的简介"


def test_another_providers_solution_cannot_be_edited(api: Api, browser: Browser) -> None:
    owner = api.provider(listed=True)
    published = _published(api, owner)
    draft = api.client.post(
        "/api/v1/solutions", headers=owner.headers, json={"title": "别人的草稿"}
    ).json()
    intruder = api.provider()
    browser.login(intruder.email)
    assert browser.get(f"/provider/solutions/{draft['id']}/edit").status_code == 404
    assert browser.get(f"/provider/solutions/{published['id']}/edit").status_code == 403
    browser.get("/provider")
    attempt = browser.post(
        f"/provider/solutions/{published['id']}/edit", _solution_form(version="2")
    )
    assert attempt.status_code == 403
    assert browser.post(f"/provider/solutions/{draft['id']}/delete").status_code == 404


def test_user_text_is_escaped_everywhere_it_is_shown(api: Api, browser: Browser) -> None:
    provider = api.provider(listed=True)
    solution = _published(
        api, provider, title="<script>alert(1)</script>", summary='"><img src=x onerror=alert(1)>'
    )
    for path in (
        f"/solutions/{solution['id']}",
        "/solutions",
        f"/providers/{provider.provider_id}",
    ):
        page = browser.get(path).text
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_archiving_from_the_dashboard_hides_the_solution(api: Api, browser: Browser) -> None:
    provider = api.provider()
    solution = _published(api, provider)
    browser.login(provider.email)
    dashboard = browser.get("/provider")
    assert "注塑车间设备联网与数据采集" in dashboard.text
    archived = browser.post(
        f"/provider/solutions/{solution['id']}/archive", {"version": str(solution["version"])}
    )
    assert archived.status_code == 303
    assert "已归档" in browser.get("/provider?status=archived").text
    browser.post("/logout")
    assert browser.get(f"/solutions/{solution['id']}").status_code == 404


# --- profile, certifications and cases -------------------------------------------------------


def test_profile_editor_saves_and_reports_field_errors(api: Api, browser: Browser) -> None:
    provider = api.provider()
    browser.login(provider.email)
    page = browser.get("/provider/profile")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    base = {
        "legal_name": "网页档案公司",
        "provider_type": "integrator",
        "registered_region": "320400",
        "size_sector": "software_it",
        "capacity": "8",
        "patents_count": "3",
        "service_regions": ["320400", "320000"],
        "policy_tags": ["zjtx"],
        "employees": "120",
        "revenue_wan": "5000",
        "contact_phone": "0519-88886666",
        "description_zh": "专注注塑行业的数字化服务。",
        "version": version.group(1),
    }
    invalid = browser.post("/provider/profile", {**base, "website": "not a url", "capacity": ""})
    assert invalid.status_code == 422
    assert 'id="err-website"' in invalid.text
    assert 'id="err-capacity"' in invalid.text
    saved = browser.post("/provider/profile", base)
    assert saved.status_code == 303
    public = _text(browser.get(f"/providers/{provider.provider_id}"))
    assert "网页档案公司" in public
    assert "专精特新中小企业" in public
    assert "专注注塑行业的数字化服务。" in public


def test_certifications_are_added_edited_and_flagged_when_expired(
    api: Api, browser: Browser
) -> None:
    provider = api.provider()
    browser.login(provider.email)
    browser.get("/provider/certifications")
    missing = browser.post("/provider/certifications", {"name": "", "issuer": ""})
    assert missing.status_code == 422
    assert 'id="err-name"' in missing.text
    expired_on = (date.today() - timedelta(days=1)).isoformat()
    added = browser.post(
        "/provider/certifications",
        {"name": "CMMI 3", "issuer": "CMMI Institute", "valid_until": expired_on},
    )
    assert added.status_code == 303
    listing = browser.get("/provider/certifications")
    assert "已过期" in listing.text
    assert "已过期" in browser.get("/provider").text  # and the dashboard says what to do
    edit_url = re.search(r'href="(/provider/certifications/[0-9a-f-]+/edit)"', listing.text)
    assert edit_url is not None
    browser.get(edit_url.group(1))
    renewed = (date.today() + timedelta(days=365)).isoformat()
    saved = browser.post(
        edit_url.group(1), {"name": "CMMI 3", "issuer": "CMMI Institute", "valid_until": renewed}
    )
    assert saved.status_code == 303
    assert "已过期" not in browser.get("/provider/certifications").text


def test_cases_are_written_with_outcomes_and_published(api: Api, browser: Browser) -> None:
    provider = api.provider(listed=True)
    solution = _published(api, provider)
    browser.login(provider.email)
    browser.get("/provider/cases/new")
    form = {
        "title": "网页案例：注塑车间联网",
        "client_industry": "29",
        "problem": "停机原因说不清",
        "solution_text": "接入 40 台注塑机",
        "case_date": "2025-03-01",
        "solution_ids": [solution["id"]],
        "outcomes.0.kpi": "设备联网率",
        "outcomes.0.before": "abc",
        "outcomes.0.after": "90",
        "outcomes.0.unit": "%",
        "version": "",
    }
    invalid = browser.post("/provider/cases/new", form)
    assert invalid.status_code == 422
    assert 'id="err-outcomes-0-before"' in invalid.text
    created = browser.post("/provider/cases/new", {**form, "outcomes.0.before": "30"})
    assert created.status_code == 303
    case_id = created.headers["location"].split("/")[3]
    browser.get(created.headers["location"])
    assert browser.post(f"/provider/cases/{case_id}/publish", {"version": "1"}).status_code == 303
    page = _text(browser.get(f"/solutions/{solution['id']}"))
    assert "网页案例：注塑车间联网" in page
    assert "设备联网率" in page
    assert "90 %" in page


def test_flash_cookie_cannot_be_forged(browser: Browser) -> None:
    browser.client.cookies.set("market_flash", "W1sic3VjY2VzcyIsICLkvaDlpb0iXV0.bad")
    assert "你好" not in browser.get("/").text


def test_translation_catalogs_have_the_same_message_ids() -> None:
    def ids(locale: str) -> set[str]:
        found: set[str] = set()
        for path in i18n.catalog_paths(locale):
            text = path.read_text(encoding="utf-8")
            found |= set(re.findall(r'^msgid "(.*)"$', text, flags=re.MULTILINE))
        return found

    assert ids("zh_CN") == ids("en")
    assert json.dumps(sorted(ids("en")), ensure_ascii=False)
