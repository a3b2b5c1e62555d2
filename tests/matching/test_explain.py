"""Explanations cite the facts behind the score, in Chinese and English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matching.catalog_index import (
    CatalogIndex,
    Need,
    ProviderRecord,
    SolutionRecord,
    VerifiedCase,
)
from matching.engine import Recommendation, recommend, why_not
from matching.explain import Explanation, explain, money_en, money_zh
from matching.trust import Review

CAPS = ("cap.mes", "cap.data_acquisition", "cap.erp", "cap.wms")
PROTOS = ("proto.modbus_tcp", "proto.s7", "proto.s7.isotcp", "proto.fanuc_focas")
NAMES = {
    "cap.mes": ("制造执行系统", "MES"),
    "cap.data_acquisition": ("设备联网与数据采集", "data acquisition"),
    "cap.erp": ("企业资源计划", "ERP"),
    "cap.wms": ("仓储管理", "WMS"),
    "proto.modbus_tcp": ("Modbus TCP", "Modbus TCP"),
    "proto.s7": ("S7", "S7"),
    "proto.fanuc_focas": ("FOCAS", "FOCAS"),
    "29": ("橡胶和塑料制品业", "Rubber and plastics"),
    "320500": ("苏州市", "Suzhou"),
}


def provider(provider_id: str, **fields: Any) -> ProviderRecord:
    values: dict[str, Any] = {"capacity": 10, "region_code": "320505", "exposure_30d": 10.0}
    values.update(fields)
    return ProviderRecord(provider_id, **values)


def solution(solution_id: str, provider_id: str, **fields: Any) -> SolutionRecord:
    values: dict[str, Any] = {"capabilities": ("cap.mes",)}
    values.update(fields)
    return SolutionRecord(solution_id, provider_id, **values)


def run(
    solutions: Sequence[SolutionRecord], providers: Sequence[ProviderRecord], need: Need
) -> Recommendation:
    index = CatalogIndex.build(solutions, providers, capability_ids=CAPS, protocol_ids=PROTOS)
    return recommend(index, need, names=NAMES, rng_seed=0)


def explained(
    solutions: Sequence[SolutionRecord],
    providers: Sequence[ProviderRecord],
    need: Need,
    contributions: dict[str, float],
) -> Explanation:
    """The explanation of the first solution when ``contributions`` are its largest."""
    index = CatalogIndex.build(solutions, providers, capability_ids=CAPS, protocol_ids=PROTOS)
    return explain(index, index.prepare(need), 0, contributions, names=NAMES)


def test_capability_sentence_counts_covered_capabilities() -> None:
    result = run(
        [solution("s", "a", capabilities=("cap.mes", "cap.data_acquisition", "cap.erp"))],
        [provider("a")],
        Need(must_capabilities=("cap.mes", "cap.data_acquisition"), nice_capabilities=("cap.erp",)),
    )
    top = result.results[0]
    assert (
        "覆盖您所需的 3/3 项能力：制造执行系统、设备联网与数据采集、企业资源计划"
        in top.explanation_zh
    )
    assert (
        "Covers 3/3 of the capabilities you need: MES, data acquisition, ERP" in top.explanation_en
    )


def test_missing_capability_is_a_caveat() -> None:
    result = run(
        [solution("s", "a", capabilities=("cap.mes",))],
        [provider("a")],
        Need(must_capabilities=("cap.mes",), nice_capabilities=("cap.wms",)),
    )
    top = result.results[0]
    assert "覆盖您所需的 1/2 项能力：制造执行系统" in top.explanation_zh
    assert "尚未覆盖：仓储管理" in top.caveats_zh
    assert "Not covered: WMS" in top.caveats_en


def test_protocol_support_and_gateway_caveats() -> None:
    explanation = explained(
        [solution("s", "a", protocols_native=("proto.modbus_tcp", "proto.s7"))],
        [provider("a")],
        Need(
            must_capabilities=("cap.mes",),
            protocols=("proto.modbus_tcp", "proto.s7.isotcp", "proto.fanuc_focas"),
        ),
        {"proto": 0.067},
    )
    # proto.s7 covers its child proto.s7.isotcp, which has no display name here.
    assert explanation.zh == "支持车间现有协议 Modbus TCP、proto.s7.isotcp（2/3）"
    assert explanation.en == "Supports your shop-floor protocols Modbus TCP, proto.s7.isotcp (2/3)"
    assert "不支持 FOCAS，需加装网关转换" in explanation.caveats_zh
    assert "No support for FOCAS; a protocol gateway is needed" in explanation.caveats_en


def test_gateway_only_protocol_is_named_as_such() -> None:
    result = run(
        [solution("s", "a", protocols_gateway=("proto.fanuc_focas",))],
        [provider("a")],
        Need(must_capabilities=("cap.mes",), protocols=("proto.fanuc_focas",)),
    )
    assert "FOCAS 需经网关转换接入" in result.results[0].caveats_zh


def test_industry_sentence_cites_verified_cases_in_the_division() -> None:
    cases = (VerifiedCase("2921", ("cap.mes",)), VerifiedCase("2929", ("cap.mes",)))
    explanation = explained(
        [solution("s", "a", industries=("2921",))],
        [provider("a", verified_cases=cases)],
        Need(must_capabilities=("cap.mes",), industry_code="2921"),
        {"ind": 0.12},
    )
    assert explanation.zh == "在 C29 橡胶和塑料制品业 有 2 个已验证案例"
    assert explanation.en == "2 verified cases in C29 Rubber and plastics"


def test_industry_sentence_without_cases_names_the_served_industry() -> None:
    explanation = explained(
        [solution("s", "a", industries=("2921",))],
        [provider("a")],
        Need(must_capabilities=("cap.mes",), industry_code="2921"),
        {"ind": 0.12},
    )
    assert explanation.zh == "服务行业涵盖 C2921"


def test_trust_sentence_and_few_reviews_caveat() -> None:
    many = run(
        [solution("s", "a")],
        [provider("a", reviews=[Review(4.8)] * 50)],
        Need(must_capabilities=("cap.mes",), k=1),
    ).results[0]
    assert "已验证服务 50 次，综合评分 4.7" in many.explanation_zh
    assert "评价样本较少" not in many.caveats_zh

    few = run(
        [solution("s", "a")],
        [provider("a", reviews=[Review(5.0)] * 2)],
        Need(must_capabilities=("cap.mes",), k=1),
    ).results[0]
    assert "评价样本较少" in few.caveats_zh
    assert "Few reviews so far" in few.caveats_en


def test_new_provider_notice() -> None:
    result = run(
        [solution("s", "a")], [provider("a", is_new=True)], Need(must_capabilities=("cap.mes",))
    )
    assert "新入驻服务商，资质与案例已核验" in result.results[0].caveats_zh


def test_high_load_caveat() -> None:
    result = run(
        [solution("s", "a")],
        [provider("a", capacity=10, active_engagements=9)],
        Need(must_capabilities=("cap.mes",)),
    )
    top = result.results[0]
    assert top.features["load"] < 0
    assert "近期排期较满，响应可能偏慢" in top.caveats_zh


def test_local_provider_sentence_and_local_preference_notice() -> None:
    need = Need(must_capabilities=("cap.mes",), region_code="320506", k=2)
    result = run(
        [solution("local", "a"), solution("far", "b")],
        [provider("a", region_code="320505"), provider("b", region_code="440300")],
        need,
    )
    local = next(item for item in result.results if item.solution_id == "local")
    assert "本地服务商（苏州市），可上门服务" in local.explanation_zh
    assert "Local provider (Suzhou), on-site service available" in local.explanation_en
    assert "已按“本地优先”加权，可在筛选中关闭" in local.caveats_zh
    far = next(item for item in result.results if item.solution_id == "far")
    assert "已按“本地优先”加权，可在筛选中关闭" not in far.caveats_zh


def test_budget_sentence_quotes_the_price_band() -> None:
    explanation = explained(
        [solution("s", "a", min_price_fen=30_000_000, typical_price_fen=50_000_000)],
        [provider("a")],
        Need(must_capabilities=("cap.mes",), budget_fen=60_000_000),
        {"budget": 0.06},
    )
    assert explanation.zh == "典型报价 30–50 万元，在预算范围内"
    assert explanation.en == "Typical price CNY 300,000–500,000, within your budget"


def test_relaxation_notice_names_the_relaxed_rule() -> None:
    result = run(
        [solution("s", "a", capabilities=("cap.mes",))],
        [provider("a")],
        Need(must_capabilities=("cap.mes", "cap.erp"), k=1),
    )
    assert [step.constraint for step in result.relaxations] == ["capability"]
    caveats = result.results[0].caveats_zh
    assert any(
        caveat.startswith("符合条件的服务商不足，已放宽：必需能力由“全部满足”放宽为“至少满足一项”")
        for caveat in caveats
    )


def test_explanation_uses_at_most_three_reasons_largest_first() -> None:
    result = run(
        [
            solution(
                "s",
                "a",
                capabilities=("cap.mes", "cap.erp"),
                industries=("2921",),
                typical_price_fen=100,
                target_sizes=("small",),
            )
        ],
        [provider("a", reviews=[Review(5.0)] * 10)],
        Need(
            must_capabilities=("cap.mes", "cap.erp"),
            industry_code="2921",
            budget_fen=200,
            sme_size="small",
        ),
    )
    top = result.results[0]
    sentences = top.explanation_zh.split("；")
    assert len(sentences) == 3
    assert sentences[0].startswith("覆盖您所需的 2/2 项能力")


def test_names_fall_back_to_ids() -> None:
    index = CatalogIndex.build(
        [solution("s", "a", capabilities=("cap.wms",))],
        [provider("a")],
        capability_ids=CAPS,
        protocol_ids=PROTOS,
    )
    top = recommend(index, Need(must_capabilities=("cap.wms",))).results[0]
    assert "覆盖您所需的 1/1 项能力：cap.wms" in top.explanation_zh


def test_why_not_states_the_capacity_fact() -> None:
    index = CatalogIndex.build(
        [solution("s", "full")],
        [provider("full", capacity=20, active_engagements=19)],
        capability_ids=CAPS,
        protocol_ids=PROTOS,
    )
    answer = why_not(index, Need(must_capabilities=("cap.mes",)), "full")
    assert answer.status == "excluded"
    assert answer.constraint == "capacity"
    assert answer.text_zh == "当前负荷 95%（19/20 个在执行项目），已达上限 95%"


def test_money_formatting() -> None:
    assert money_zh(350_000_000) == "350"
    assert money_zh(1_250_000) == "1.2"
    assert money_en(350_000_000) == "CNY 3,500,000"
