"""Inbox use cases: turning ``notify.*`` events into rows, and each user's own reads.

The catalog announces what happened and to whom (organisations, users, "the curators of pool
X"); the wording lives here, Chinese first, because how the market speaks to its users is the
market's business. E-mail and webhooks will read the same events later.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from catalog.pools import service as pools
from core.database import utcnow
from core.deps import Principal
from core.errors import NotFound
from core.pagination import PageParams, paginate
from market.accounts.models import User
from market.inbox.models import InboxItem
from market.inbox.schemas import InboxItemOut, InboxPage

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
TITLE_MAX = 200
SANCTION_NAMES = {
    "warning": "警告",
    "rectification": "限期整改",
    "suspension": "停牌",
    "removal": "取消资格",
}
OUTCOME_NAMES = {
    "uphold": "成立",
    "dismiss": "驳回",
    "accept": "通过",
    "reject": "未通过",
    "confirm": "确认",
    "rereview": "转入复审",
    "pass": "通过",
    "fail": "未通过",
}
SUBJECT_NAMES = {"rating": "星级评定", "sanction": "处理决定"}
TRIGGER_NAMES = {"expiry": "有效期届满", "on_demand": "主管部门决定", "change": "重大事项变更"}
CHANGE_NAMES = {"name": "企业名称", "credit_code": "统一社会信用代码", "certification": "关键资质"}


class _Facts(dict[str, str]):
    """Format arguments that read as empty instead of failing when a fact is missing."""

    def __missing__(self, key: str) -> str:
        return ""

    def fill(self, template: str) -> str:
        return template.format_map(self)


def _when(value: Any) -> str:
    """An ISO timestamp from the event, as Beijing time to the minute."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def facts(payload: Mapping[str, Any]) -> _Facts:
    """The payload's facts as display text, with names for codes."""
    out = _Facts({k: str(v) for k, v in payload.items() if isinstance(v, str | int | float)})
    for key in ("deadline", "notice_ends_at", "valid_until"):
        out[key] = _when(payload.get(key))
    reasons = payload.get("reasons") or []
    out["reasons"] = "；".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
    out["kind_zh"] = SANCTION_NAMES.get(str(payload.get("kind")), "")
    out["outcome_zh"] = OUTCOME_NAMES.get(
        str(payload.get("outcome") or payload.get("decision")), ""
    )
    out["subject_zh"] = SUBJECT_NAMES.get(str(payload.get("subject")), "")
    out["trigger_zh"] = TRIGGER_NAMES.get(str(payload.get("trigger")), "")
    out["change_zh"] = CHANGE_NAMES.get(str(payload.get("kind")), "")
    stars = payload.get("star_rating")
    out["stars"] = "★" * int(stars) if isinstance(stars, int) else ""
    return out


Wording = tuple[str, str] | Callable[[_Facts], tuple[str, str]]

# topic (without "notify.") → (title, body) templates, or a function choosing them.
TEMPLATES: dict[str, Wording] = {
    "application.submitted": (
        "新的入库申请：{provider_name}",
        "{provider_name} 申请加入「{pool_name}」（{category_name}），请进行形式审查。",
    ),
    "application.resubmitted": (
        "申请已重新提交：{provider_name}",
        "{provider_name} 已按退回意见修改并重新提交「{pool_name}」的申请。",
    ),
    "application.returned": (
        "申请被退回，请补充材料：{pool_name}",
        "您在「{pool_name}」的申请被退回：{reasons}。请修改后重新提交。",
    ),
    "application.scored": (
        "专家评分已完成：{provider_name}",
        "{provider_name} 在「{pool_name}」的申请已完成专家评分（平均 {total_score} 分），"
        "请作出决定。",
    ),
    "application.approved": (
        "申请通过评审，进入公示：{pool_name}",
        "您在「{pool_name}」（{category_name}）的申请已通过评审，公示期至 {notice_ends_at}。",
    ),
    "application.rejected": (
        "申请未通过：{pool_name}",
        "您在「{pool_name}」的申请未通过：{reasons}。",
    ),
    "application.listed": (
        "已正式入库：{pool_name}",
        "公示期满，您已入库「{pool_name}」（{category_name}），星级 {stars}，"
        "有效期至 {valid_until}。",
    ),
    "objection.filed": (
        "收到公示异议：{provider_name}",
        "有用户对「{pool_name}」公示中的 {provider_name} 提出异议：{text}。请在公示期内处理。",
    ),
    "sanction.issued": lambda f: (
        f.fill("{kind_zh}：{pool_name}"),
        f.fill("您在「{pool_name}」的入库资格被给予{kind_zh}：{reason}。")
        + (f.fill("请于 {deadline} 前提交整改报告。") if f["deadline"] else ""),
    ),
    "rectification.reported": (
        "整改报告待审核：{provider_name}",
        "{provider_name} 已就「{pool_name}」的限期整改提交报告，请审核。",
    ),
    "rectification.reviewed": lambda f: (
        f.fill("整改报告{outcome_zh}：{pool_name}"),
        f.fill("您的整改报告{outcome_zh}：{reason}。")
        + (
            f.fill("请于 {deadline} 前重新提交。")
            if f["outcome"] == "reject" and f["deadline"]
            else ""
        ),
    ),
    "sanction.lifted": (
        "停牌已解除：{pool_name}",
        "您在「{pool_name}」的停牌已解除：{reason}。",
    ),
    "appeal.filed": (
        "新的申诉：{provider_name}",
        "{provider_name} 对「{pool_name}」的{subject_zh}提出申诉，须由未参与原决定的审核员处理。",
    ),
    "appeal.decided": (
        "申诉结果：{pool_name}",
        "您对{subject_zh}的申诉{outcome_zh}：{reason}。",
    ),
    "rereview.opened": (
        "入库复审开始：{pool_name}",
        "因{trigger_zh}，您在「{pool_name}」的入库资格进入复审：{reason}。",
    ),
    "rereview.scored": (
        "复审评分已完成：{provider_name}",
        "{provider_name} 在「{pool_name}」的复审已完成专家评分（平均 {total_score} 分），"
        "请作出决定。",
    ),
    "rereview.decided": lambda f: (
        f.fill("复审{outcome_zh}：{pool_name}"),
        f.fill("复审通过，星级 {stars}，有效期至 {valid_until}。")
        if f["decision"] == "pass"
        else f.fill("复审未通过，入库资格取消：{reasons}。"),
    ),
    "listing.expired": (
        "入库有效期已届满：{pool_name}",
        "{provider_name} 在「{pool_name}」的入库有效期已于 {valid_until} 届满，已转入复审；"
        "复审通过前不在检索和匹配中展示。",
    ),
    "change.reported": (
        "重大事项变更待审核：{provider_name}",
        "{provider_name} 报告了{change_zh}变更，涉及「{pool_name}」的入库资格，请审核。",
    ),
    "change.reviewed": (
        "变更审核结果：{pool_name}",
        "您报告的变更在「{pool_name}」的审核结果：{outcome_zh}。{reason}",
    ),
    "deadline.rectification": (
        "整改期限临近：{pool_name}",
        "请于 {deadline} 前就「{pool_name}」的限期整改提交整改报告。",
    ),
    "deadline.rectification_overdue": (
        "整改已逾期：{provider_name}",
        "{provider_name} 未在 {deadline} 前就「{pool_name}」的限期整改提交报告。",
    ),
    "deadline.notice": (
        "公示即将结束：{provider_name}",
        "「{pool_name}」对 {provider_name} 的公示将于 {notice_ends_at} 结束，请及时处理未决异议。",
    ),
    "deadline.validity": (
        "入库有效期即将届满：{provider_name}",
        "{provider_name} 在「{pool_name}」的入库有效期至 {valid_until}，请及时安排复审。",
    ),
}


def render(topic: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """Title and body for an event; an unknown topic still reaches its readers, plainly."""
    known = facts(payload)
    wording = TEMPLATES.get(topic.removeprefix("notify."))
    if wording is None:
        return topic, ""
    if callable(wording):
        title, body = wording(known)
    else:
        title, body = known.fill(wording[0]), known.fill(wording[1])
    return title[:TITLE_MAX], body


# --- delivery ----------------------------------------------------------------------------------


def _uuids(values: Any) -> list[uuid.UUID]:
    return [uuid.UUID(str(v)) for v in values or []]


def recipients(session: Session, addressed: Mapping[str, Any]) -> list[uuid.UUID]:
    """Active users named directly, members of the named organisations, and the curators of
    the named pool (its agency's curators; platform admins are not copied on every pool)."""
    users = User.__table__.c
    conditions: list[ColumnElement[bool]] = []
    org_ids = _uuids(addressed.get("org_ids"))
    if org_ids:
        conditions.append(users.org_id.in_(org_ids))
    user_ids = _uuids(addressed.get("user_ids"))
    if user_ids:
        conditions.append(users.id.in_(user_ids))
    pool_id = addressed.get("curators_of_pool")
    if pool_id:
        try:
            agency = pools.get_pool(session, uuid.UUID(str(pool_id))).agency_org_id
        except NotFound:
            agency = None
        if agency is not None:
            conditions.append((users.org_id == agency) & (users.role == "curator"))
    if not conditions:
        return []
    rows = session.scalars(
        select(users.id).where(users.is_active.is_(True), or_(*conditions)).order_by(users.id)
    )
    return list(rows)


def deliver(
    session: Session, *, topic: str, payload: Mapping[str, Any], event_id: int | None
) -> int:
    """Write one inbox row per recipient; returns how many were written (0 on a replay)."""
    people = recipients(session, payload.get("recipients") or {})
    if not people:
        return 0
    if event_id is not None:
        done = set(session.scalars(select(InboxItem.user_id).where(InboxItem.event_id == event_id)))
        people = [p for p in people if p not in done]
    title, body = render(topic, payload)
    data = {k: v for k, v in payload.items() if k != "recipients"}
    session.add_all(
        InboxItem(
            user_id=user_id,
            topic=topic.removeprefix("notify."),
            title=title,
            body=body,
            data=data,
            event_id=event_id,
        )
        for user_id in people
    )
    session.flush()
    return len(people)


# --- a user's own inbox ------------------------------------------------------------------------


def unread_count(session: Session, *, principal: Principal) -> int:
    count = session.scalar(
        select(func.count()).where(
            InboxItem.user_id == principal.user_id, InboxItem.read_at.is_(None)
        )
    )
    return int(count or 0)


def page(
    session: Session, *, principal: Principal, unread_only: bool, params: PageParams
) -> InboxPage:
    """The caller's own rows, unread first, newest first within each."""
    stmt = select(InboxItem).where(InboxItem.user_id == principal.user_id)
    if unread_only:
        stmt = stmt.where(InboxItem.read_at.is_(None))
    order: list[ColumnElement[Any]] = [
        InboxItem.read_at.is_not(None).asc(),
        InboxItem.created_at.desc(),
        InboxItem.id.asc(),
    ]
    rows, total = paginate(session, stmt, params, order)
    return InboxPage(
        items=[InboxItemOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        size=params.size,
        unread=unread_count(session, principal=principal),
    )


def mark_read(session: Session, *, principal: Principal, item_id: uuid.UUID) -> InboxItem:
    item = session.get(InboxItem, item_id)
    # Someone else's row does not exist as far as the caller can tell.
    if item is None or item.user_id != principal.user_id:
        raise NotFound("No such inbox item", code="inbox_item_not_found")
    if item.read_at is None:
        item.read_at = utcnow()
        session.flush()
    return item


def mark_all_read(session: Session, *, principal: Principal) -> int:
    result = session.execute(
        update(InboxItem)
        .where(InboxItem.user_id == principal.user_id, InboxItem.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
