"""The provider's pool pages: applying with solutions and evidence, upload refusals beside the
file input, the status timeline, answering a return, rectification reports, appeals, material
change reports, and who may open them."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from tests.catalog.pools.test_application_lifecycle import Flow, new_flow
from tests.catalog.pools.test_sanctions_and_appeals import sanctioned
from tests.market.web.test_pages import Browser, _text
from tests.support import Api

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Uploads go to a scratch directory, with a 1 MB limit."""
    return Settings(
        env="test", database_url=database_url, upload_dir=str(tmp_path / "up"), max_upload_mb=1
    )


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


@pytest.fixture
def flow(api: Api) -> Flow:
    """An open pool with category "injection" and a provider with a draft solution."""
    return new_flow(api)


def send(
    browser: Browser,
    path: str,
    data: dict[str, Any],
    file: tuple[str, bytes, str] | None = None,
) -> httpx.Response:
    """A multipart form as the browser sends it: a file part even when none was chosen."""
    files = {"file": file or ("", b"", "application/octet-stream")}
    return browser.client.post(
        path,
        data={**data, "csrf_token": browser.token},
        files=files,
        follow_redirects=False,
    )


def apply_form(flow: Flow, **overrides: Any) -> dict[str, Any]:
    return {
        "category_id": "injection",
        "solution_ids": [flow.solution_id],
        "note": "申报材料齐全",
        "declaration": "yes",
        "file_kind": "licence",
        **overrides,
    }


def applied(flow: Flow, browser: Browser) -> str:
    """Apply through the page with a licence; returns the application id."""
    browser.login(flow.provider.email)
    browser.get(f"/provider/pools/{flow.pool['id']}/apply")
    response = send(
        browser,
        f"/provider/pools/{flow.pool['id']}/apply",
        apply_form(flow),
        ("营业执照.pdf", PDF, "application/pdf"),
    )
    assert response.status_code == 303, _text(response)
    application_id = response.headers["location"].rsplit("/", 1)[1]
    flow.app = {"id": application_id}
    flow.app = flow.read().json()
    return application_id


def test_provider_applies_with_a_solution_and_a_licence_and_sees_the_timeline(
    flow: Flow, browser: Browser
) -> None:
    browser.login(flow.provider.email)
    overview = _text(browser.get("/provider/pools"))
    assert flow.pool["name"] in overview
    assert "正在接受申报的资源池" in overview
    application_id = applied(flow, browser)
    assert flow.app["state"] == "submitted"
    assert flow.app["solution_ids"] == [flow.solution_id]
    evidence = flow.api.client.get(
        f"/api/v1/applications/{application_id}/evidence", headers=flow.curator.headers
    ).json()
    assert [(e["filename"], e["kind"]) for e in evidence] == [("营业执照.pdf", "licence")]

    text = _text(browser.get(f"/provider/pools/applications/{application_id}"))
    assert re.search(r"进度记录\s+提交申报\s+[\d-]+ [\d:]+\s+已提交\s+申报材料齐全", text)
    assert "营业执照.pdf" in text
    assert "注塑车间设备联网与数据采集" in text
    # Applied: the pool no longer offers "Apply", the list shows the application.
    overview = _text(browser.get("/provider/pools"))
    assert "您在此资源池已有申报或入库" in overview
    assert re.search(re.escape(flow.pool["name"]) + r"\s+injection\s+已提交", overview)


def test_a_wrong_file_type_or_size_is_said_beside_the_file_input(
    flow: Flow, browser: Browser
) -> None:
    browser.login(flow.provider.email)
    path = f"/provider/pools/{flow.pool['id']}/apply"
    browser.get(path)
    renamed = send(browser, path, apply_form(flow), ("执照.pdf", b"MZ\x90\x00", "application/pdf"))
    assert renamed.status_code == 422
    assert re.search(r'id="err-file"[^>]*>\s*<p>请上传 PDF、JPEG 或 PNG 文件', renamed.text)
    large = send(
        browser, path, apply_form(flow), ("big.png", PNG + bytes(1024 * 1024), "image/png")
    )
    assert large.status_code == 422
    assert re.search(r'id="err-file"[^>]*>\s*<p>文件超过 1 MB', large.text)
    # Nothing was applied, and the other fields are kept.
    assert "申报材料齐全" in large.text
    mine = flow.api.client.get("/api/v1/applications/mine", headers=flow.provider.headers)
    assert mine.json()["total"] == 0


def test_the_declaration_and_a_solution_are_required(flow: Flow, browser: Browser) -> None:
    browser.login(flow.provider.email)
    path = f"/provider/pools/{flow.pool['id']}/apply"
    browser.get(path)
    form = apply_form(flow, solution_ids=[])
    del form["declaration"]
    response = send(browser, path, form)
    assert response.status_code == 422
    assert re.search(r'id="err-declaration"[^>]*>\s*<p>必须勾选：申报须签署承诺书', response.text)
    assert 'id="err-solution_ids"' in response.text


def test_a_returned_application_shows_the_reasons_and_is_submitted_again(
    flow: Flow, browser: Browser
) -> None:
    application_id = applied(flow, browser)
    flow.ok(flow.curator, "return", {"reasons": ["请补充ISO 9001证书"]})
    page = f"/provider/pools/applications/{application_id}"
    text = _text(browser.get(page))
    assert re.search(r"退回补正\s+主管部门要求您补正：\s+请补充ISO 9001证书", text)
    response = send(
        browser,
        f"{page}/resubmit",
        {"category_id": "injection", "solution_ids": [flow.solution_id], "note": "已补充证书"},
        ("ISO9001.png", PNG, "image/png"),
    )
    assert response.status_code == 303, _text(response)
    text = _text(browser.get(page))
    assert re.search(r"退回补正\s+[\d-]+ [\d:]+\s+退回补正\s+请补充ISO 9001证书", text)
    assert re.search(r"重新提交\s+[\d-]+ [\d:]+\s+已提交\s+已补充证书", text)
    assert "ISO9001.png" in text


def test_evidence_is_added_to_an_open_application(flow: Flow, browser: Browser) -> None:
    application_id = applied(flow, browser)
    page = f"/provider/pools/applications/{application_id}"
    browser.get(page)
    nothing = send(browser, f"{page}/evidence", {"file_kind": "certificate"})
    assert nothing.status_code == 422
    assert "请选择文件，或勾选之前上传的材料" in _text(nothing)
    added = send(
        browser, f"{page}/evidence", {"file_kind": "certificate"}, ("证书.png", PNG, "image/png")
    )
    assert added.status_code == 303
    assert re.search(r"证书\.png\s+资质证书", _text(browser.get(page)))


def test_a_listed_provider_reports_rectification_and_appeals_its_rating(
    flow: Flow, browser: Browser
) -> None:
    flow.listed()
    order = sanctioned(flow, "rectification")
    page = f"/provider/pools/applications/{flow.app['id']}"
    browser.login(flow.provider.email)
    text = _text(browser.get(page))
    assert re.search(r"限期整改\s+待提交整改报告", text)
    assert "整改期限" in text
    assert "rectification 理由" in text
    assert re.search(r"\d 星", text) or "★" in text

    reported = send(
        browser,
        f"/provider/pools/sanctions/{order['id']}/report",
        {"report": "已更换不合格设备并复测"},
        ("复测报告.pdf", PDF, "application/pdf"),
    )
    assert reported.status_code == 303, _text(reported)
    text = _text(browser.get(page))
    assert re.search(r"限期整改\s+整改报告审核中", text)
    assert "已更换不合格设备并复测" in text

    appealed = send(browser, f"{page}/appeals", {"subject": "rating", "text": "评分未计入新案例"})
    assert appealed.status_code == 303, _text(appealed)
    text = _text(browser.get(page))
    assert re.search(r"针对星级评定\s+· 待处理", text)
    again = send(browser, f"{page}/appeals", {"subject": "rating", "text": "再次申诉"})
    assert again.status_code == 409
    assert "该决定已被申诉过" in _text(again)


def test_a_material_change_is_reported_to_every_pool(flow: Flow, browser: Browser) -> None:
    applied(flow, browser)
    browser.get("/provider/pools/changes")
    missing = send(browser, "/provider/pools/changes", {"kind": "", "new_value": ""})
    assert missing.status_code == 422
    response = send(
        browser,
        "/provider/pools/changes",
        {"kind": "name", "new_value": "常州示例精工科技股份有限公司", "note": "股份制改造"},
    )
    assert response.status_code == 303, _text(response)
    text = _text(browser.get("/provider/pools/changes"))
    assert re.search(r"企业名称\s+[\d-]+ [\d:]+\s+常州示例精工科技股份有限公司", text)
    assert re.search(re.escape(flow.pool["name"]) + r": 审核中", text)
    assert "变更审核中" in _text(browser.get("/provider/pools"))


def test_only_the_owner_opens_its_application(flow: Flow, browser: Browser, api: Api) -> None:
    application_id = applied(flow, browser)
    page = f"/provider/pools/applications/{application_id}"
    browser.client.cookies.clear()
    anonymous = browser.client.get(page, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")

    other = api.provider()
    browser.login(other.email)
    assert browser.get(page).status_code == 404
    browser.get("/provider/pools")
    for action, data in (
        ("resubmit", {"category_id": "injection"}),
        ("evidence", {"file_kind": "other"}),
        ("withdraw", {}),
        ("appeals", {"subject": "rating", "text": "x"}),
    ):
        assert send(browser, f"{page}/{action}", data).status_code == 404, action
    assert flow.read().json()["state"] == "submitted"

    browser.client.cookies.clear()
    browser.login(api.sme().email)
    assert browser.get(page).status_code == 403
    assert browser.get("/provider/pools").status_code == 403
    assert browser.get(f"/provider/pools/{flow.pool['id']}/apply").status_code == 403


def test_unknown_pools_and_applications_are_not_found(flow: Flow, browser: Browser) -> None:
    browser.login(flow.provider.email)
    missing = uuid.uuid4()
    assert browser.get(f"/provider/pools/{missing}/apply").status_code == 404
    assert browser.get(f"/provider/pools/applications/{missing}").status_code == 404


def test_an_undecided_application_can_be_withdrawn(flow: Flow, browser: Browser) -> None:
    application_id = applied(flow, browser)
    page = f"/provider/pools/applications/{application_id}"
    browser.get(page)
    response = send(browser, f"{page}/withdraw", {"reason": "改为明年申报"})
    assert response.status_code == 303
    assert flow.read().json()["state"] == "withdrawn"
    text = _text(browser.get(page))
    assert re.search(r"已撤回\s+[\d-]+ [\d:]+\s+已撤回\s+改为明年申报", text)
    assert "撤回申报" not in text
