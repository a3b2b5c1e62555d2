"""The curator's pages (主管部门): the vetting queue, an application's review and decision, the
公示 with objections, re-reviews, sanctions and appeals, the audit log, import and export,
the dashboard; and who may open them."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from catalog.pools.models import PoolApplication
from core.database import utcnow
from tests.catalog.pools.test_application_lifecycle import LOW, Flow, new_flow
from tests.market.rfqs.test_rfq_flow import new_market
from tests.market.web.test_pages import Browser, _text
from tests.support import Actor, Api, credit_code


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


@pytest.fixture
def flow(api: Api) -> Flow:
    return new_flow(api)


def as_curator(browser: Browser, actor: Actor) -> Browser:
    browser.login(actor.email)
    return browser


def page(browser: Browser, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, response.text
    return _text(response)


def flashed(browser: Browser, response: Response) -> str:
    """Follow a form's redirect and return the text of the page it lands on."""
    assert response.status_code == 303, response.text
    return page(browser, response.headers["location"])


def app_path(flow: Flow) -> str:
    return f"/curator/applications/{flow.app['id']}"


def state_of(flow: Flow) -> str:
    flow.app = flow.read().json()
    return str(flow.app["state"])


def scores_form(points: dict[str, float]) -> dict[str, Any]:
    form: dict[str, Any] = {"conflict": "none"}
    for criterion, value in points.items():
        form[f"points.{criterion}"] = str(value)
        form[f"comment.{criterion}"] = "材料完整"
    return form


# --- the vetting journey -----------------------------------------------------------------------


def test_curator_accepts_assigns_scores_and_approves_an_application(
    flow: Flow, browser: Browser
) -> None:
    flow.submitted()
    as_curator(browser, flow.curator)

    queue = page(browser, f"/curator?pool={flow.pool['id']}")
    assert flow.app["provider_name"] in queue
    assert "待形式审查 (1)" in queue

    detail = page(browser, app_path(flow))
    assert "注塑车间设备联网与数据采集" in detail  # the solution put forward
    assert "形式审查" in detail
    assert "提交申报" in detail  # the timeline

    accepted = browser.post(f"{app_path(flow)}/accept")
    assert "已受理并进入专家评审" in flashed(browser, accepted)
    assert state_of(flow) == "under_review"

    assigned = browser.post(f"{app_path(flow)}/reviewers", {"user_ids": str(flow.curator.user_id)})
    scoring = flashed(browser, assigned)
    assert "本人声明与该服务商不存在利益冲突" in scoring
    assert "产品服务能力" in scoring
    assert "40" in scoring

    scored = browser.post(
        f"{app_path(flow)}/score",
        scores_form({"capability": 36, "cases": 30, "service": 20}),
    )
    assert scored.headers["location"].endswith("#scoring")
    after = flashed(browser, scored)
    assert "您的加权总分：86（满分 100）" in after

    approved = browser.post(
        f"{app_path(flow)}/decision", {"decision": "approve", "category_id": "injection"}
    )
    assert "审核通过，已开始公示" in flashed(browser, approved)
    assert state_of(flow) == "in_notice"


def test_a_return_needs_reasons_and_sends_the_application_back(
    flow: Flow, browser: Browser
) -> None:
    flow.submitted()
    as_curator(browser, flow.curator)
    browser.get(app_path(flow))

    empty = browser.post(f"{app_path(flow)}/return", {"reasons": "  "})
    assert "决定理由: 此项为必填项。" in flashed(browser, empty)
    assert state_of(flow) == "submitted"

    returned = browser.post(f"{app_path(flow)}/return", {"reasons": "缺少营业执照\n案例证明不清晰"})
    assert "已附理由退回服务商" in flashed(browser, returned)
    assert state_of(flow) == "returned"
    assert flow.app["reasons"] == ["缺少营业执照", "案例证明不清晰"]


def test_a_score_above_the_criterions_maximum_is_refused(flow: Flow, browser: Browser) -> None:
    flow.submitted().ok(flow.curator, "accept")
    flow.ok(flow.curator, "reviewers", {"user_ids": [str(flow.curator.user_id)]})
    as_curator(browser, flow.curator)
    browser.get(app_path(flow))

    refused = browser.post(
        f"{app_path(flow)}/score", scores_form({"capability": 55, "cases": 30, "service": 20})
    )
    text = flashed(browser, refused)
    assert "产品服务能力: 请填写不大于 40 的数值。" in text
    review = flow.read(flow.curator).json()["reviews"][0]
    assert review["total"] is None


def test_a_declared_conflict_is_recorded_instead_of_scores(flow: Flow, browser: Browser) -> None:
    flow.submitted().ok(flow.curator, "accept")
    flow.ok(flow.curator, "reviewers", {"user_ids": [str(flow.curator.user_id)]})
    as_curator(browser, flow.curator)
    browser.get(app_path(flow))

    declared = browser.post(
        f"{app_path(flow)}/score", {"conflict": "declared", "conflict_note": "曾为其顾问"}
    )
    text = flashed(browser, declared)
    assert "您的利益冲突已记录" in text
    assert "曾为其顾问" in text
    review = flow.read(flow.curator).json()["reviews"][0]
    assert review["conflict_declared"] is True


def test_approving_below_the_pass_score_needs_an_override_reason(
    flow: Flow, browser: Browser
) -> None:
    flow.scored(LOW, LOW)
    as_curator(browser, flow.curator)
    detail = page(browser, app_path(flow))
    assert "总分低于及格分 60" in detail

    refused = browser.post(f"{app_path(flow)}/decision", {"decision": "approve"})
    assert "总分低于资源池及格分" in flashed(browser, refused)
    assert state_of(flow) == "under_review"

    overridden = browser.post(
        f"{app_path(flow)}/decision",
        {"decision": "approve", "override_reason": "本地急需注塑行业服务商"},
    )
    assert "审核通过" in flashed(browser, overridden)
    assert state_of(flow) == "in_notice"


def test_rejecting_needs_reasons_which_the_provider_is_given(flow: Flow, browser: Browser) -> None:
    flow.scored()
    as_curator(browser, flow.curator)
    browser.get(app_path(flow))

    without = browser.post(f"{app_path(flow)}/decision", {"decision": "reject"})
    assert "reasons are required" in flashed(browser, without)
    rejected = browser.post(
        f"{app_path(flow)}/decision", {"decision": "reject", "reasons": "案例与申报类别不符"}
    )
    assert "未通过，已将理由告知服务商" in flashed(browser, rejected)
    assert state_of(flow) == "rejected"


# --- 公示, objections, listing -----------------------------------------------------------------


def test_objections_are_ruled_on_and_due_notices_closed(
    api: Api, flow: Flow, browser: Browser
) -> None:
    flow.in_notice()
    objector = api.sme()
    objection = api.client.post(
        f"/api/v1/applications/{flow.app['id']}/objections",
        json={"text": "该企业案例存疑"},
        headers=objector.headers,
    )
    assert objection.status_code == 201, objection.text
    as_curator(browser, flow.curator)
    notices_path = f"/curator/pools/{flow.pool['id']}/notices"
    notices = page(browser, notices_path)
    assert flow.app["provider_name"] in notices
    assert "该企业案例存疑" in notices
    assert "待处理" in notices

    objection_id = objection.json()["id"]
    resolve = f"{app_path(flow)}/objections/{objection_id}/resolve"
    dismissed = browser.post(resolve, {"outcome": "dismiss", "reason": "经核实案例真实"})
    assert "异议不成立，已驳回" in flashed(browser, dismissed)

    flow.end_notice()
    closed = browser.post(f"/curator/pools/{flow.pool['id']}/notices/close-due")
    assert "1 家公示期满且无未决异议的服务商已入库" in flashed(browser, closed)
    assert state_of(flow) == "listed"
    assert flow.app["provider_name"] in page(browser, f"/pools/{flow.pool['id']}")


def test_an_upheld_objection_rejects_the_application(
    api: Api, flow: Flow, browser: Browser
) -> None:
    flow.in_notice()
    objection = api.client.post(
        f"/api/v1/applications/{flow.app['id']}/objections",
        json={"text": "资质证书已过期"},
        headers=api.sme().headers,
    )
    as_curator(browser, flow.curator)
    browser.get(f"/curator/pools/{flow.pool['id']}/notices")
    resolve = f"{app_path(flow)}/objections/{objection.json()['id']}/resolve"

    no_reason = browser.post(resolve, {"outcome": "uphold", "reason": ""})
    assert "理由: 此项为必填项。" in flashed(browser, no_reason)
    upheld = browser.post(resolve, {"outcome": "uphold", "reason": "证书确已过期"})
    assert "异议成立：该申报未通过" in flashed(browser, upheld)
    assert state_of(flow) == "rejected"


# --- re-reviews, sanctions, appeals, changes ---------------------------------------------------


def test_the_rereview_calendar_lists_by_month_and_starts_and_expires(
    api: Api, flow: Flow, browser: Browser
) -> None:
    flow.listed()
    as_curator(browser, flow.curator)
    calendar_path = f"/curator/pools/{flow.pool['id']}/rereviews"
    valid_until = flow.app["valid_until"][:7]  # YYYY-MM
    calendar = page(browser, calendar_path)
    assert f"{valid_until} 到期" in calendar
    assert flow.app["provider_name"] in calendar

    started = browser.post(f"{app_path(flow)}/rereview", {"reason": "年度抽查"})
    assert "已启动复审" in flashed(browser, started)
    again = browser.post(f"{app_path(flow)}/rereview", {"reason": "再次抽查"})
    assert "该入库企业已有进行中的复审" in flashed(browser, again)

    other = new_flow(api).listed()
    with api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == uuid.UUID(other.app["id"]))
            .values(valid_until=utcnow() - timedelta(minutes=1))
        )
    browser.post("/logout")
    as_curator(browser, other.curator)
    browser.get(f"/curator/pools/{other.pool['id']}/rereviews")
    expired = browser.post(f"/curator/pools/{other.pool['id']}/expire-due")
    assert "1 家超过有效期的入库企业已过期" in flashed(browser, expired)
    assert state_of(other) == "expired"


def test_sanctions_are_issued_and_an_appeal_goes_to_another_curator(
    api: Api, flow: Flow, browser: Browser
) -> None:
    flow.listed()
    as_curator(browser, flow.curator)
    browser.get(app_path(flow))

    no_deadline = browser.post(
        f"{app_path(flow)}/sanctions", {"kind": "rectification", "reason": "案例材料不实"}
    )
    assert "a rectification needs a deadline" in flashed(browser, no_deadline)
    suspended = browser.post(
        f"{app_path(flow)}/sanctions", {"kind": "suspension", "reason": "用户投诉未处理"}
    )
    assert "处理决定已作出" in flashed(browser, suspended)
    assert state_of(flow) == "suspended"

    sanctions = api.client.get(
        f"/api/v1/applications/{flow.app['id']}/sanctions", headers=flow.curator.headers
    ).json()
    appeal = api.client.post(
        f"/api/v1/applications/{flow.app['id']}/appeals",
        json={"subject": "sanction", "sanction_id": sanctions[0]["id"], "text": "投诉已处理完毕"},
        headers=flow.provider.headers,
    )
    assert appeal.status_code == 201, appeal.text
    sanctions_path = f"/curator/pools/{flow.pool['id']}/sanctions"
    listing = page(browser, sanctions_path)
    assert "停牌" in listing
    assert "用户投诉未处理" in listing
    assert "投诉已处理完毕" in listing

    decision = f"/curator/appeals/{appeal.json()['id']}/decision"
    refused = browser.post(decision, {"outcome": "uphold", "reason": "同意"})
    assert "您参与了被申诉的决定，不能处理此申诉" in flashed(browser, refused)

    browser.post("/logout")
    colleague = flow.reviewers[0]
    as_curator(browser, colleague)
    browser.get(sanctions_path)
    upheld = browser.post(decision, {"outcome": "uphold", "reason": "投诉确已处理"})
    assert "申诉已处理" in flashed(browser, upheld)
    assert state_of(flow) == "listed"


def test_a_reported_change_is_confirmed_from_the_queue(
    api: Api, flow: Flow, browser: Browser
) -> None:
    flow.listed()
    change = api.client.post(
        "/api/v1/changes",
        json={"kind": "name", "new_value": "常州新名称智能科技有限公司"},
        headers=flow.provider.headers,
    )
    assert change.status_code == 201, change.text
    as_curator(browser, flow.curator)
    listing = page(browser, f"/curator/pools/{flow.pool['id']}/sanctions")
    assert "常州新名称智能科技有限公司" in listing

    review = f"{app_path(flow)}/changes/{change.json()['id']}/review"
    confirmed = browser.post(review, {"outcome": "confirm", "reason": "仅更名"})
    assert "变更已审核" in flashed(browser, confirmed)
    assert "维持入库" in page(browser, f"/curator/pools/{flow.pool['id']}/sanctions")


# --- audit, import, export, dashboard ----------------------------------------------------------


def test_the_audit_log_filters_by_action_actor_and_date(flow: Flow, browser: Browser) -> None:
    flow.scored()
    as_curator(browser, flow.curator)

    everything = page(browser, "/curator/audit")
    assert "pool.application.accepted" in everything
    assert "pool.application.scored" in everything

    accepted = page(browser, "/curator/audit?action=pool.application.accepted")
    assert "pool.application.accepted" in accepted
    assert "pool.application.scored" not in accepted

    by_reviewer = page(browser, f"/curator/audit?actor={flow.reviewers[0].user_id}")
    assert "pool.application.scored" in by_reviewer
    assert "pool.application.accepted" not in by_reviewer

    future = (utcnow() + timedelta(days=3)).date().isoformat()
    assert "没有符合筛选条件的决定" in page(browser, f"/curator/audit?since={future}")
    by_target = page(browser, f"/curator/audit?target={flow.app['id']}&until={future}")
    assert "pool.application.submitted" in by_target


def test_the_audit_log_pages_through_many_records(flow: Flow, browser: Browser) -> None:
    flow.listed()
    as_curator(browser, flow.curator)
    for i in range(45):
        flow.ok(flow.curator, "sanctions", {"kind": "warning", "reason": f"第{i}次警告"})
    first = browser.get("/curator/audit")
    assert 'rel="next"' in first.text
    second = page(browser, "/curator/audit?page=2")
    assert "pool.application.submitted" in second


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["企业名称", "统一社会信用代码", "服务商类型", "所在地区", "入库类别"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _row(name: str, code: str | None = None) -> list[str]:
    return [name, code or credit_code(), "“小快轻准”产品型服务商", "江苏省常州市", "注塑行业"]


def test_import_shows_a_dry_run_report_then_imports_on_confirmation(
    flow: Flow, browser: Browser
) -> None:
    as_curator(browser, flow.curator)
    import_path = f"/curator/pools/{flow.pool['id']}/import"
    browser.get(import_path)

    bad = browser.client.post(
        import_path,
        data={"csrf_token": browser.token},
        files={"file": ("名单.csv", _csv([_row("常州甲公司"), _row("常州乙公司", "91320400ABC")]))},
    )
    assert bad.status_code == 200
    report = _text(bad)
    assert "试导入检查报告" in report
    assert "91320400ABC" in report
    assert "确认导入" not in report

    good = browser.client.post(
        import_path,
        data={"csrf_token": browser.token},
        files={"file": ("名单.csv", _csv([_row("常州丙智能公司"), _row("常州丁数字公司")]))},
    )
    assert "所有行均通过检查" in _text(good)
    carried = re.search(r'name="carried" value="([^"]+)"', good.text)
    assert carried is not None
    browser.get(import_path)
    confirmed = browser.post(
        import_path,
        {"confirm": "yes", "carried": carried.group(1), "filename": "名单.csv", "category": ""},
    )
    assert "已导入 2 行" in flashed(browser, confirmed)
    members = page(browser, f"/pools/{flow.pool['id']}")
    assert "常州丙智能公司" in members
    assert "常州丁数字公司" in members


def test_the_pool_list_is_exported_as_csv_and_xlsx(flow: Flow, browser: Browser) -> None:
    flow.listed()
    as_curator(browser, flow.curator)
    assert "下载 XLSX" in page(browser, f"/curator/pools/{flow.pool['id']}/import")

    exported = browser.get(f"/curator/pools/{flow.pool['id']}/export.csv")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert flow.app["provider_name"] in exported.content.decode("utf-8-sig")
    workbook = browser.get(f"/curator/pools/{flow.pool['id']}/export.xlsx")
    assert workbook.status_code == 200
    assert workbook.content[:2] == b"PK"
    assert browser.get(f"/curator/pools/{flow.pool['id']}/export.pdf").status_code == 404


def test_the_dashboard_draws_charts_with_their_numbers_in_tables(
    flow: Flow, browser: Browser
) -> None:
    flow.listed()
    as_curator(browser, flow.curator)
    response = browser.get(f"/curator/pools/{flow.pool['id']}/dashboard")
    assert response.status_code == 200
    assert response.text.count("<svg") >= 3
    assert "<script" not in response.text.split("<main", 1)[1]
    text = _text(response)
    assert "按类别统计的入库服务商" in text
    assert "注塑行业" in text
    assert "注册地在本资源池辖区内" in text
    assert f"{flow.app['star_rating']} 星" in text


def test_the_application_window_is_opened_and_closed(flow: Flow, browser: Browser) -> None:
    as_curator(browser, flow.curator)
    browser.get(f"/curator/pools/{flow.pool['id']}/dashboard")
    closed = browser.post(f"/curator/pools/{flow.pool['id']}/window", {"open": "no"})
    assert "暂不接受申报" in flashed(browser, closed)
    refused = flow.apply()
    assert refused.status_code == 409


# --- who may open the curator pages ------------------------------------------------------------


def _curator_paths(flow: Flow) -> list[str]:
    pool = flow.pool["id"]
    return [
        app_path(flow),
        f"/curator/pools/{pool}/notices",
        f"/curator/pools/{pool}/rereviews",
        f"/curator/pools/{pool}/sanctions",
        f"/curator/pools/{pool}/dashboard",
        f"/curator/pools/{pool}/import",
        f"/curator/pools/{pool}/export.csv",
        f"/curator/audit?pool={pool}",
        f"/curator?pool={pool}",
    ]


def test_anonymous_visitors_are_sent_to_log_in(flow: Flow, browser: Browser) -> None:
    flow.submitted()
    for path in _curator_paths(flow):
        response = browser.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


@pytest.mark.parametrize("role", ["provider", "sme"])
def test_providers_and_smes_are_refused(api: Api, flow: Flow, browser: Browser, role: str) -> None:
    flow.submitted()
    actor = flow.provider if role == "provider" else api.sme()
    browser.login(actor.email)
    for path in [*_curator_paths(flow), "/curator"]:
        response = browser.get(path)
        assert response.status_code == 403, path
        assert "管理资源池的主管部门工作人员" in _text(response)
    refused = browser.post(f"{app_path(flow)}/accept")
    assert refused.status_code == 403
    assert state_of(flow) == "submitted"


def test_a_curator_of_another_agency_is_refused(api: Api, flow: Flow, browser: Browser) -> None:
    flow.submitted()
    stranger = api.curator()
    browser.login(stranger.email)
    assert flow.app["provider_name"] not in page(browser, "/curator")
    for path in _curator_paths(flow):
        response = browser.get(path)
        assert response.status_code in (403, 404), path
    browser.get("/curator")
    for action in ("accept", "return", "reviewers", "score", "decision", "sanctions"):
        response = browser.post(
            f"{app_path(flow)}/{action}", {"reasons": "x", "decision": "reject"}
        )
        assert response.status_code in (403, 404), action
    for action in ("notices/close-due", "expire-due", "window", "import"):
        response = browser.post(f"/curator/pools/{flow.pool['id']}/{action}", {"open": "no"})
        assert response.status_code == 403, action
    assert state_of(flow) == "submitted"


def test_the_dashboard_counts_rfq_answers_and_engagements_of_the_pool(
    api: Api, browser: Browser
) -> None:
    market = new_market(api)
    market.awarded()  # one invitation, quoted and awarded: an engagement in delivery
    answering, silent = market.provider(), market.provider()
    rfq = market.rfq(market.sme(), [answering, silent])
    market.quote(answering, market.invitation(rfq, answering))
    as_curator(browser, market.curator)

    text = re.sub(r"\s+", " ", page(browser, f"/curator/pools/{market.pool_id}/dashboard"))
    assert "2 经本资源池发出的询价" in text
    assert "67% 询价响应率" in text  # two of three invitations answered
    assert "已邀请，尚未答复 1" in text
    assert "实施中 1" in text


def test_scores_without_a_conflict_declaration_are_refused(flow: Flow, browser: Browser) -> None:
    flow.submitted().ok(flow.curator, "accept")
    flow.ok(flow.curator, "reviewers", {"user_ids": [str(flow.curator.user_id)]})
    as_curator(browser, flow.curator)
    browser.get(app_path(flow))

    form = scores_form({"capability": 36, "cases": 30, "service": 20})
    del form["conflict"]
    refused = browser.post(f"{app_path(flow)}/score", form)
    assert "请声明您与该服务商是否存在利益冲突" in flashed(browser, refused)
    assert flow.read(flow.curator).json()["reviews"][0]["total"] is None
