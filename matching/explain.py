"""Explanations in Chinese and English, built from contributions and checked facts.

A recommendation the SME cannot check is a recommendation it cannot trust, so every sentence
cites the fact behind it (counts, names, codes, prices) and is produced from the same index
columns the score came from; a template never claims more than the data says. The reasons are
the three largest positive contributions w_i·f_i (DOMAIN §5 templates); caveats follow for the
weak spots (capabilities not covered, protocols needing a gateway, few reviews, high load) and
for the notices the SME should see (relaxed rules, the local-preference weighting, a new
provider, an exploration pick).

Display names come from an optional ``names`` mapping, id or code → (zh, en), passed by the
caller from the taxonomy; anything missing falls back to its id so a gap in the mapping shows
up as an id rather than as a wrong word.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from matching.catalog_index import (
    CatalogIndex,
    PreparedNeed,
    industry_section,
    section_letter,
)
from matching.constraints import AppliedRelaxation, Exclusion, any_overlap, onsite_covering
from matching.weights import DEFAULT_WEIGHTS, Weights

__all__ = ["Explanation", "Names", "exclusion_text", "explain", "money_en", "money_zh"]

Names = Mapping[str, tuple[str, str]]

_SIZE_NAMES: dict[str, tuple[str, str]] = {
    "micro": ("微型", "micro"),
    "small": ("小型", "small"),
    "medium": ("中型", "medium-sized"),
    "large": ("大型", "large"),
}

_MAX_REASONS = 3


@dataclass(frozen=True, slots=True)
class Explanation:
    """One result's explanation: joined reason sentences, caveats, and which features spoke."""

    zh: str
    en: str
    caveats_zh: tuple[str, ...]
    caveats_en: tuple[str, ...]
    reasons: tuple[str, ...]


def _name(names: Names | None, key: str, language: int) -> str:
    if names is not None and key in names:
        return names[key][language]
    if key in _SIZE_NAMES:
        return _SIZE_NAMES[key][language]
    return key


def _join(items: Sequence[str], language: int) -> str:
    return ("、" if language == 0 else ", ").join(items)


def money_zh(fen: int) -> str:
    """Fen as 万元 with at most one decimal: 350000000 → "350"."""
    return f"{round(fen / 1_000_000, 1):g}"


def money_en(fen: int) -> str:
    """Fen as whole yuan with thousands separators: 350000000 → "CNY 3,500,000"."""
    return f"CNY {fen / 100:,.0f}"


def _industry_label(code: str, names: Names | None, language: int) -> str:
    digits = "".join(char for char in code if char.isdigit())
    letter = section_letter(industry_section(int(digits[:2]))) if len(digits) >= 2 else ""
    label = _name(names, digits, language) if names and digits in names else ""
    return f"{letter}{digits} {label}".strip()


def _region_label(code: int, names: Names | None, language: int) -> str:
    key = f"{code:06d}"
    return _name(names, key, language)


class _Facts:
    """Lazily gathered facts about one result row, shared by reasons and caveats."""

    def __init__(
        self, index: CatalogIndex, prepared: PreparedNeed, row: int, weights: Weights
    ) -> None:
        self.index, self.prepared, self.row, self.weights = index, prepared, row, weights
        self.provider = int(index.provider_row[row])
        offered = set(index.solution_capabilities(row))
        requested = (*prepared.must_ids, *prepared.nice_ids)
        self.covered = [cap for cap in requested if cap in offered]
        self.missing_must = [cap for cap in prepared.must_ids if cap not in offered]
        self.missing_nice = [cap for cap in prepared.nice_ids if cap not in offered]
        native = index.solutions.native[row : row + 1]
        gateway = index.solutions.gateway[row : row + 1]
        self.native: list[str] = []
        self.via_gateway: list[str] = []
        self.unsupported: list[str] = []
        for protocol, mask in prepared.protocol_masks:
            if any_overlap(native, mask)[0]:
                self.native.append(protocol)
            elif any_overlap(gateway, mask)[0]:
                self.via_gateway.append(protocol)
            else:
                self.unsupported.append(protocol)

    def cases_in_division(self) -> int:
        division = self.prepared.industry[1]
        if division < 0:
            return 0
        cases = self.index.providers.cases.row(self.provider)
        return int((cases["div"] == division).sum())

    def relevant_cases(self) -> int:
        cases = self.index.providers.cases.row(self.provider)
        if self.prepared.requested_count:
            return int(any_overlap(cases["caps"], self.prepared.requested_bits).sum())
        return self.cases_in_division()

    def locality(self) -> str:
        table = self.index.providers
        _code, province, city = self.prepared.region
        if city and int(table.city[self.provider]) == city:
            return "city"
        if province and int(table.province[self.provider]) == province:
            return "province"
        if province and onsite_covering(self.index, self.prepared)[self.provider]:
            return "declared"
        return "remote"


def _reason_cap(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    total = facts.prepared.requested_count
    if not facts.covered:
        return None
    zh = _join([_name(names, cap, 0) for cap in facts.covered], 0)
    en = _join([_name(names, cap, 1) for cap in facts.covered], 1)
    count = len(facts.covered)
    return (
        f"覆盖您所需的 {count}/{total} 项能力：{zh}",
        f"Covers {count}/{total} of the capabilities you need: {en}",
    )


def _reason_proto(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    supported = facts.native + facts.via_gateway
    if not supported:
        return None
    total = len(facts.prepared.protocol_masks)
    zh = _join([_name(names, p, 0) for p in supported], 0)
    en = _join([_name(names, p, 1) for p in supported], 1)
    return (
        f"支持车间现有协议 {zh}（{len(supported)}/{total}）",
        f"Supports your shop-floor protocols {en} ({len(supported)}/{total})",
    )


def _reason_ind(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    code = facts.prepared.need.industry_code or ""
    cases = facts.cases_in_division()
    if cases:
        digits = "".join(char for char in code if char.isdigit())[:2]
        return (
            f"在 {_industry_label(digits, names, 0)} 有 {cases} 个已验证案例",
            f"{cases} verified case{'s' if cases != 1 else ''} in "
            f"{_industry_label(digits, names, 1)}",
        )
    return (
        f"服务行业涵盖 {_industry_label(code, names, 0)}",
        f"Serves your industry {_industry_label(code, names, 1)}",
    )


def _reason_trust(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    table = facts.index.providers
    n_eff = float(table.n_eff[facts.provider])
    mean = float(table.trust_mean[facts.provider])
    if n_eff <= 0:
        return None
    shown = f"{round(n_eff, 1):g}"
    return (
        f"已验证服务 {shown} 次，综合评分 {mean:.1f}",
        f"{shown} verified engagements, rated {mean:.1f}/5",
    )


def _reason_region(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    table = facts.index.providers
    where = facts.locality()
    if where == "city":
        city = int(table.city[facts.provider]) * 100
        return (
            f"本地服务商（{_region_label(city, names, 0)}），可上门服务",
            f"Local provider ({_region_label(city, names, 1)}), on-site service available",
        )
    if where == "province":
        province = int(table.province[facts.provider]) * 10000
        return (
            f"同省服务商（{_region_label(province, names, 0)}）",
            f"Provider in your province ({_region_label(province, names, 1)})",
        )
    area = facts.prepared.region[0]
    if where == "declared":
        return (
            f"已声明可上门服务（{_region_label(area, names, 0)}）",
            f"Declares on-site service in {_region_label(area, names, 1)}",
        )
    return ("支持远程交付", "Delivers remotely")


def _reason_budget(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    solutions = facts.index.solutions
    low, typical = int(solutions.min_price[facts.row]), int(solutions.typical_price[facts.row])
    budget = facts.prepared.need.budget_fen or 0
    if typical < 0 and low < 0:
        return None
    if low >= 0 and typical >= 0 and typical != low:
        zh_price = f"{money_zh(low)}–{money_zh(typical)} 万元"
        en_price = f"{money_en(low)}–{money_en(typical)[4:]}"
    else:
        price = typical if typical >= 0 else low
        zh_price, en_price = f"{money_zh(price)} 万元", money_en(price)
    within = (typical if typical >= 0 else low) <= budget
    if within:
        return f"典型报价 {zh_price}，在预算范围内", f"Typical price {en_price}, within your budget"
    return f"典型报价 {zh_price}，略高于预算", f"Typical price {en_price}, slightly above budget"


def _reason_scale(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    size = facts.prepared.need.sme_size or ""
    proven = int(facts.index.providers.proven_sizes[facts.provider]) & facts.prepared.size_bit
    if proven:
        return (
            f"已为{_name(names, size, 0)}企业交付过验证项目",
            f"Proven with {_name(names, size, 1)} companies",
        )
    return f"面向{_name(names, size, 0)}企业", f"Offered to {_name(names, size, 1)} companies"


def _reason_pricing(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    offered_bits = int(facts.index.solutions.pricing[facts.row])
    models = [
        model
        for position, model in enumerate(facts.index.pricing_ids)
        if offered_bits >> position & 1 and model in facts.prepared.need.preferred_pricing
    ]
    if not models:
        return None
    return (
        f"提供您偏好的付费方式：{_join([_name(names, m, 0) for m in models], 0)}",
        f"Offers your preferred pricing: {_join([_name(names, m, 1) for m in models], 1)}",
    )


def _reason_evidence(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    count = facts.relevant_cases()
    if not count:
        return None
    return (
        f"有 {count} 个相关已验证案例",
        f"{count} relevant verified case{'s' if count != 1 else ''}",
    )


def _reason_resp(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    table = facts.index.providers
    invited = int(table.invited[facts.provider])
    if not invited:
        return None
    rate = round(100 * int(table.answered[facts.provider]) / invited)
    hours = float(table.median_hours[facts.provider])
    if math.isnan(hours):
        return f"询价响应率 {rate}%", f"Answers {rate}% of quote requests"
    return (
        f"询价响应率 {rate}%，中位响应 {round(hours, 1):g} 小时",
        f"Answers {rate}% of quote requests, median {round(hours, 1):g} h",
    )


def _reason_text(facts: _Facts, names: Names | None) -> tuple[str, str] | None:
    return "与您的需求描述高度相关", "Closely matches your description"


_REASONS: dict[str, Callable[[_Facts, Names | None], tuple[str, str] | None]] = {
    "cap": _reason_cap,
    "text": _reason_text,
    "ind": _reason_ind,
    "proto": _reason_proto,
    "trust": _reason_trust,
    "region": _reason_region,
    "budget": _reason_budget,
    "scale": _reason_scale,
    "pricing": _reason_pricing,
    "evidence": _reason_evidence,
    "resp": _reason_resp,
}


def explain(
    index: CatalogIndex,
    prepared: PreparedNeed,
    row: int,
    contributions: Mapping[str, float],
    *,
    relaxations: Sequence[AppliedRelaxation] = (),
    exploration: bool = False,
    names: Names | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Explanation:
    """The explanation of solution ``row`` for this need."""
    facts = _Facts(index, prepared, row, weights)
    order = sorted(
        (name for name in _REASONS if contributions.get(name, 0.0) > 0),
        key=lambda name: -contributions[name],
    )
    reasons_zh: list[str] = []
    reasons_en: list[str] = []
    spoke: list[str] = []
    for name in order:
        rendered = _REASONS[name](facts, names)
        if rendered is None:
            continue
        reasons_zh.append(rendered[0])
        reasons_en.append(rendered[1])
        spoke.append(name)
        if len(spoke) == _MAX_REASONS:
            break
    caveats = _caveats(facts, contributions, relaxations, exploration, names, weights)
    return Explanation(
        zh="；".join(reasons_zh),
        en="; ".join(reasons_en),
        caveats_zh=tuple(zh for zh, _en in caveats),
        caveats_en=tuple(en for _zh, en in caveats),
        reasons=tuple(spoke),
    )


def _caveats(
    facts: _Facts,
    contributions: Mapping[str, float],
    relaxations: Sequence[AppliedRelaxation],
    exploration: bool,
    names: Names | None,
    weights: Weights,
) -> list[tuple[str, str]]:
    table = facts.index.providers
    caveats: list[tuple[str, str]] = []
    missing = facts.missing_must + facts.missing_nice
    if missing:
        caveats.append(
            (
                f"尚未覆盖：{_join([_name(names, cap, 0) for cap in missing], 0)}",
                f"Not covered: {_join([_name(names, cap, 1) for cap in missing], 1)}",
            )
        )
    for protocol in facts.unsupported:
        caveats.append(
            (
                f"不支持 {_name(names, protocol, 0)}，需加装网关转换",
                f"No support for {_name(names, protocol, 1)}; a protocol gateway is needed",
            )
        )
    for protocol in facts.via_gateway:
        caveats.append(
            (
                f"{_name(names, protocol, 0)} 需经网关转换接入",
                f"{_name(names, protocol, 1)} only through a protocol gateway",
            )
        )
    n_eff = float(table.n_eff[facts.provider])
    if bool(table.is_new[facts.provider]):
        caveats.append(
            ("新入驻服务商，资质与案例已核验", "Newly listed; credentials and cases verified")
        )
    if n_eff < weights.few_reviews_n_eff:
        caveats.append(("评价样本较少", "Few reviews so far"))
    if contributions.get("load", 0.0) < 0:
        caveats.append(
            ("近期排期较满，响应可能偏慢", "Busy schedule lately; responses may be slower")
        )
    if (
        facts.prepared.need.prefer_local
        and contributions.get("region", 0.0)
        >= (weights.region * weights.region_same_province - 1e-9)
        and weights.region > 0
    ):
        caveats.append(
            (
                "已按“本地优先”加权，可在筛选中关闭",
                "Ranked with “prefer local”; you can switch this off in the filters",
            )
        )
    if relaxations:
        caveats.append(
            (
                "符合条件的服务商不足，已放宽：" + "；".join(step.text_zh for step in relaxations),
                "Too few providers met every rule; relaxed: "
                + "; ".join(step.text_en for step in relaxations),
            )
        )
    if exploration:
        caveats.append(
            (
                "探索推荐：为新入驻或曝光较少的合格服务商保留的位置",
                "Exploration pick: a place kept for a qualified new or less-exposed provider",
            )
        )
    return caveats


def exclusion_text(
    exclusion: Exclusion, index: CatalogIndex, prepared: PreparedNeed, names: Names | None = None
) -> tuple[str, str]:
    """The why-not sentence for an excluded solution, citing the failing rule's facts."""
    facts = exclusion.facts
    name = exclusion.constraint
    if name == "status":
        return "该服务商未上架或已被暂停", "The provider is not listed or is suspended"
    if name == "capacity":
        load, active, capacity, limit = (
            facts["load"],
            facts["active"],
            facts["capacity"],
            facts["limit"],
        )
        return (
            f"当前负荷 {load:.0%}（{active}/{capacity} 个在执行项目），已达上限 {limit:.0%}",
            f"Current load {load:.0%} ({active}/{capacity} active engagements) "
            f"reaches the {limit:.0%} limit",
        )
    if name == "capability":
        missing = facts["missing_must"]
        if facts["covered"] and missing:
            return (
                f"未覆盖必需能力：{_join([_name(names, cap, 0) for cap in missing], 0)}",
                "Does not cover the must-have capabilities: "
                + _join([_name(names, cap, 1) for cap in missing], 1),
            )
        return "未覆盖您所需的任何能力", "Covers none of the capabilities you need"
    if name == "budget":
        low, budget, tolerance = facts["min_price_fen"], facts["budget_fen"], facts["tolerance"]
        return (
            f"最低报价 {money_zh(low)} 万元，超过预算 {money_zh(budget)} 万元的 {tolerance:g} 倍",
            f"Minimum price {money_en(low)} exceeds {tolerance:g}× your budget of "
            f"{money_en(budget)}",
        )
    if name == "size":
        size = facts["size"] or ""
        return (
            f"未面向{_name(names, size, 0)}企业提供服务",
            f"Does not serve {_name(names, size, 1)} companies",
        )
    where, need_region = int(facts["provider_region"]), int(facts["need_region"])
    return (
        f"需要上门服务，但服务商位于{_region_label(where, names, 0)}，"
        f"且未声明覆盖{_region_label(need_region, names, 0)}",
        f"On-site service is required, but the provider is based in "
        f"{_region_label(where, names, 1)} and declares no coverage of "
        f"{_region_label(need_region, names, 1)}",
    )
