"""Titles and texts of the market's ``notify.*`` events, for the inbox and e-mail.

The inbox's wording table (``market.inbox.service.TEMPLATES``) covers the pool workflow; these
are the market's events. A title names the event in Chinese and English, then the subject
(the RFQ's or engagement's title); the text says what happened and what to do, Chinese first.
"""

from __future__ import annotations

from collections.abc import Callable

from market.inbox.service import Wording, _Facts

CATEGORY_NAMES = {
    "quality": "质量问题",
    "delay": "延期",
    "scope": "范围争议",
    "payment": "付款",
    "acceptance": "验收",
    "conduct": "履约行为",
    "other": "其他",
}
DISPUTE_OUTCOMES = {
    "decided": "调解员已作出处理决定",
    "closed_without_agreement": "未能达成一致，调解结束",
}


def _titled(zh: str, en: str, body_zh: str, body_en: str) -> Callable[[_Facts], tuple[str, str]]:
    def wording(facts: _Facts) -> tuple[str, str]:
        title = facts.fill(f"{zh} / {en}：{{title}}")
        body = facts.fill(body_zh) + "\n" + facts.fill(body_en)
        return title, body

    return wording


def _quote_submitted(facts: _Facts) -> tuple[str, str]:
    if facts["revision"] not in ("", "1"):
        return _titled(
            "报价已修改",
            "Quote revised",
            "服务商修改了对「{title}」的报价（第 {revision} 版），请查看比价。",
            "A provider revised its quote (revision {revision}); compare the quotes.",
        )(facts)
    return _titled(
        "收到报价",
        "Quote received",
        "服务商对「{title}」提交了报价，请查看比价。",
        "A provider submitted a quote; compare the quotes.",
    )(facts)


def _dispute_opened(facts: _Facts) -> tuple[str, str]:
    facts["category_zh"] = CATEGORY_NAMES.get(facts["category"], facts["category"])
    return _titled(
        "发起调解",
        "Dispute opened",
        "「{title}」项目发起了调解（{category_zh}），资源池审核员将居中调解。",
        "A dispute ({category}) was opened on this engagement; the pool's curator mediates.",
    )(facts)


def _dispute_closed(facts: _Facts) -> tuple[str, str]:
    facts["outcome_zh"] = DISPUTE_OUTCOMES.get(facts["outcome"], facts["outcome"])
    return _titled(
        "调解结束",
        "Dispute closed",
        "「{title}」的调解已结束：{outcome_zh}。理由：{reason}",
        "The mediator closed the dispute ({outcome}): {reason}",
    )(facts)


MARKET_TEMPLATES: dict[str, Wording] = {
    # RFQs and invitations
    "rfq.invited": _titled(
        "收到询价邀请",
        "New RFQ invitation",
        "企业邀请您对「{title}」报价，截止时间 {deadline}。",
        "An SME invites you to quote before {deadline}.",
    ),
    "rfq.deadline_extended": _titled(
        "询价截止时间延长",
        "RFQ deadline extended",
        "「{title}」的报价截止时间延长至 {deadline}。",
        "The deadline is now {deadline}.",
    ),
    "rfq.cancelled": _titled(
        "询价已取消",
        "RFQ cancelled",
        "企业取消了询价「{title}」：{reason}",
        "The SME cancelled this RFQ: {reason}",
    ),
    "rfq.expired": _titled(
        "询价已过期",
        "RFQ expired",
        "询价「{title}」已过截止时间且未选定服务商。",
        "The RFQ passed its deadline without an award.",
    ),
    "rfq.closed": _titled(
        "询价已结束",
        "RFQ closed",
        "企业已就「{title}」选定其他服务商，感谢您的报价。",
        "The SME chose another provider; thank you for quoting.",
    ),
    "rfq.message": _titled(
        "询价有新消息",
        "New RFQ message",
        "「{title}」的问答有新消息。",
        "There is a new message in the RFQ's Q&A.",
    ),
    "invitation.declined": _titled(
        "服务商谢绝报价",
        "Invitation declined",
        "一家服务商谢绝了对「{title}」的报价：{reason}",
        "A provider declined to quote: {reason}",
    ),
    # Quotes
    "quote.submitted": _quote_submitted,
    "quote.abnormally_low": _titled(
        "报价异常偏低",
        "Abnormally low quote",
        "「{title}」的一份报价低于同类参考价（P10），请关注履约风险。",
        "A quote is below the category's reference price (P10); mind the delivery risk.",
    ),
    "quote.cost_breakdown": _titled(
        "报价成本明细已提交",
        "Cost breakdown submitted",
        "服务商提交了「{title}」报价的成本明细。",
        "The provider submitted the quote's cost breakdown.",
    ),
    "quote.accepted": _titled(
        "报价已被接受",
        "Quote accepted",
        "企业接受了您对「{title}」的报价，项目已创建。",
        "The SME accepted your quote; the engagement has been created.",
    ),
    # Engagements
    "engagement.milestone_submitted": _titled(
        "里程碑待验收",
        "Milestone submitted",
        "服务商提交了里程碑「{milestone}」，请确认。",
        "The provider submitted milestone “{milestone}” for your decision.",
    ),
    "engagement.milestone_accepted": _titled(
        "里程碑已确认",
        "Milestone accepted",
        "企业确认了里程碑「{milestone}」。",
        "The SME accepted milestone “{milestone}”.",
    ),
    "engagement.milestone_rejected": _titled(
        "里程碑被退回",
        "Milestone rejected",
        "企业退回了里程碑「{milestone}」：{reason}",
        "The SME rejected milestone “{milestone}”: {reason}",
    ),
    "engagement.delivered": _titled(
        "项目已交付，待验收",
        "Delivered, awaiting acceptance",
        "服务商已交付，请对照 KPI 进行验收。",
        "The provider declared delivery; check it against the KPIs.",
    ),
    "engagement.delivery_rejected": _titled(
        "交付被退回",
        "Delivery sent back",
        "企业退回了交付：{reason}",
        "The SME sent the delivery back: {reason}",
    ),
    "engagement.accepted": _titled(
        "项目已通过验收",
        "Engagement accepted",
        "企业已完成验收。",
        "The SME accepted the delivery.",
    ),
    "engagement.completed": _titled(
        "项目已完成",
        "Engagement completed",
        "项目已完成。",
        "The engagement is completed.",
    ),
    "engagement.cancelled": _titled(
        "项目已取消",
        "Engagement cancelled",
        "对方取消了项目：{reason}",
        "The other party cancelled the engagement: {reason}",
    ),
    "engagement.change_proposed": _titled(
        "收到变更申请",
        "Change request",
        "服务商申请变更合同金额，请审核。",
        "The provider proposes a price change for your decision.",
    ),
    "engagement.change_accepted": _titled(
        "变更申请已同意",
        "Change accepted",
        "企业同意了变更申请。",
        "The SME accepted the change request.",
    ),
    "engagement.change_rejected": _titled(
        "变更申请被拒绝",
        "Change rejected",
        "企业拒绝了变更申请：{reason}",
        "The SME rejected the change request: {reason}",
    ),
    "engagement.change_withdrawn": _titled(
        "变更申请已撤回",
        "Change withdrawn",
        "服务商撤回了变更申请。",
        "The provider withdrew the change request.",
    ),
    "engagement.subsidy_approved": _titled(
        "补贴申请已批准",
        "Subsidy approved",
        "补贴申请已批准。",
        "The subsidy application was approved.",
    ),
    "engagement.subsidy_rejected": _titled(
        "补贴申请未获批准",
        "Subsidy rejected",
        "补贴申请未获批准：{reason}",
        "The subsidy application was rejected: {reason}",
    ),
    "engagement.subsidy_paid": _titled(
        "补贴已拨付",
        "Subsidy paid",
        "补贴已拨付。",
        "The subsidy was paid.",
    ),
    # Disputes
    "dispute.opened": _dispute_opened,
    "dispute.message": _titled(
        "调解有新消息",
        "New dispute message",
        "「{title}」的调解有新消息。",
        "There is a new message in the dispute.",
    ),
    "dispute.evidence": _titled(
        "调解有新证据",
        "New dispute evidence",
        "一方为「{title}」的调解提交了证据：{filename}",
        "A party added evidence: {filename}",
    ),
    "dispute.proposed": _titled(
        "收到调解方案",
        "Resolution proposed",
        "调解员提出了调解方案，请接受或拒绝。",
        "The mediator proposed a resolution; accept or reject it.",
    ),
    "dispute.proposal_accepted": _titled(
        "一方接受调解方案",
        "Proposal accepted by a party",
        "一方已接受调解方案，等待另一方答复。",
        "One party accepted the proposal; the other has yet to answer.",
    ),
    "dispute.proposal_rejected": _titled(
        "调解方案被拒绝",
        "Proposal rejected",
        "一方拒绝了调解方案：{reason}",
        "A party rejected the proposal: {reason}",
    ),
    "dispute.resolved": _titled(
        "调解达成一致",
        "Dispute resolved",
        "双方已接受调解方案，调解结束。",
        "Both parties accepted the proposal; the dispute is resolved.",
    ),
    "dispute.withdrawn": _titled(
        "调解已撤回",
        "Dispute withdrawn",
        "发起方撤回了调解：{reason}",
        "The party that opened the dispute withdrew it: {reason}",
    ),
    "dispute.closed": _dispute_closed,
}
