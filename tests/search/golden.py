"""The golden search suite: a fixed catalogue and what every search backend must find in it.

Data, not tests, so that any backend can be held to it:

* :func:`load_corpus` writes the catalogue into a database through the ORM: providers with
  pool memberships (listed, in notice, rejected), published, draft and archived solutions,
  certifications and case studies. Ids are fixed (``uuid5`` of a short key such as ``"S1"``),
  so expectations can name documents before anything is loaded.
* :data:`CORPUS` (a function) returns the search documents that catalogue produces, built by
  ``catalog.discovery.documents`` in a scratch SQLite database, for backends that are fed
  documents directly (Meilisearch).
* :data:`CASES` are the queries: Chinese, English and mixed text, substrings, single
  characters, prefixes being typed, full-width input, synonyms, pinyin, typos, filters with
  facets, sort orders, and documents that must never be found.
* :func:`check_case` / :func:`run_golden` run them against any ``SearchBackend``.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from catalog.cases.models import Case
from catalog.pools.models import Pool, PoolApplication
from catalog.providers.models import Certification, Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice
from catalog.taxonomy import make_credit_code
from market.accounts.models import Organisation
from search.backend import DocKind, SearchBackend, SearchDocument, SearchRequest, SortOrder

NAMESPACE = uuid.UUID("5d1c8e0a-3f4b-4c2e-9a61-7b2f0c9e4d10")
BASE_TIME = datetime(2026, 3, 1, tzinfo=UTC)


def uid(key: str) -> uuid.UUID:
    """The fixed id of a corpus item ("P1", "S3", "pool:js", "org:P1", ...)."""
    return uuid.uuid5(NAMESPACE, key)


def doc_id(key: str) -> str:
    """The search document id of a corpus key: "S1" → solution:…, "P1" → provider:…."""
    kind = "solution" if key.startswith("S") else "provider"
    return f"{kind}:{uid(key)}"


# --- the catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolSpec:
    key: str
    name: str
    jurisdiction: str


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    name: str
    region: str
    provider_type: str
    size: str | None
    description: str
    description_en: str = ""
    # (pool key, application state, star rating)
    memberships: tuple[tuple[str, str, int | None], ...] = ()
    certifications: tuple[str, ...] = ()
    # (title, verified)
    cases: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class SolutionSpec:
    key: str
    provider: str
    title: str
    summary: str
    description: str
    capabilities: tuple[str, ...]
    industries: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ()
    deployments: tuple[str, ...] = ()
    # (pricing model, minimum price in fen)
    pricing: tuple[tuple[str, int], ...] = ()
    status: str = "published"
    published_day: int = 0


POOLS: tuple[PoolSpec, ...] = (
    PoolSpec("pool:js", "江苏省工业互联网服务资源池（测试）", "320000"),
    PoolSpec("pool:dg", "东莞市数字化转型服务商库（测试）", "441900"),
)

PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        "P1",
        "常州示例精工科技有限公司",
        "320412",
        "product",
        "small",
        "专注注塑行业的设备联网服务商，提供上门安装与培训。",
        memberships=(("pool:js", "listed", 4),),
        certifications=("ISO 9001 质量管理体系认证",),
        cases=(("某注塑厂设备联网改造项目", True),),
    ),
    ProviderSpec(
        "P2",
        "东莞智联数据服务有限公司",
        "441900",
        "integrator",
        "medium",
        "东莞本地的综合集成型服务商。",
        "Dongguan based integrator.",
        memberships=(("pool:dg", "listed", 5), ("pool:js", "listed", 3)),
        certifications=("CMMI 3级", "ISO 27001 信息安全管理体系认证"),
        cases=(("电子厂能耗监测案例", False),),
    ),
    ProviderSpec(
        "P3",
        "苏州云帆工业软件有限公司",
        "320500",
        "platform",
        "medium",
        "工业软件与平台服务。",
        memberships=(("pool:js", "listed", 2),),
    ),
    # Not public: still in the 公示 notice period.
    ProviderSpec(
        "P4",
        "无锡未入库科技有限公司",
        "320200",
        "product",
        "micro",
        "尚未入库的服务商。",
        memberships=(("pool:js", "in_notice", None),),
    ),
    # Not public: rejected.
    ProviderSpec(
        "P5",
        "南京已驳回信息技术有限公司",
        "320100",
        "integrator",
        "small",
        "申请被驳回的服务商。",
        memberships=(("pool:js", "rejected", None),),
    ),
    # Listed without a star rating; 重庆 is a polyphone (chong, not zhong).
    ProviderSpec(
        "P6",
        "重庆示例智造有限公司",
        "500103",
        "integrator",
        "medium",
        "重庆的数字化车间服务商。",
        memberships=(("pool:dg", "listed", None),),
    ),
)

SOLUTIONS: tuple[SolutionSpec, ...] = (
    SolutionSpec(
        "S1",
        "P1",
        "注塑车间设备联网与数据采集",
        "为中小注塑厂提供安装简单、即插即用的设备看板",
        "边缘网关接入注塑机，支持 Modbus TCP 与 OPC UA，兼容西门子S7-1200。",
        ("cap.data_acquisition", "cap.edge_gateway"),
        ("29",),
        ("small", "medium"),
        ("proto.modbus_tcp", "proto.opcua", "proto.s7.isotcp"),
        ("saas", "edge_device"),
        (("subscription", 50_000),),
        published_day=10,
    ),
    SolutionSpec(
        "S2",
        "P1",
        "轻量MES工单报工系统",
        "工单、报工、质量追溯一体化，按月付费",
        "面向机加工与装配车间，支持扫码报工和OEE统计。",
        ("cap.mes",),
        ("34",),
        ("small",),
        (),
        ("saas",),
        (("subscription", 80_000),),
        published_day=20,
    ),
    SolutionSpec(
        "S3",
        "P2",
        "测试工具箱：产线质检数据分析",
        "质检员随身的测试工具箱，离线可用",
        "视觉检测结果与统计过程控制分析，支持Excel导入，分析结果可推送到MES。",
        ("cap.quality_vision", "cap.bi"),
        ("39",),
        ("medium",),
        (),
        ("on_premises",),
        (("one_off", 2_000_000),),
        published_day=5,
    ),
    SolutionSpec(
        "S4",
        "P2",
        "能耗监测与碳排放管理平台",
        "电、水、气能耗在线监测",
        "通过DL/T 645电表和Modbus RTU采集能耗数据，云端分析。",
        ("cap.energy_mgmt", "cap.data_acquisition"),
        ("26", "3411"),
        ("medium", "large"),
        ("proto.dlt645", "proto.modbus_rtu"),
        ("saas", "hybrid"),
        (("metered", 1_000),),
        published_day=30,
    ),
    SolutionSpec(
        "S5",
        "P2",
        "仓储管理WMS扫码出入库",
        "条码与RFID出入库",
        "适合家具厂的成品仓。",
        ("cap.wms",),
        ("21",),
        ("small", "medium"),
        (),
        ("saas",),
        (("subscription", 30_000),),
        published_day=25,
    ),
    SolutionSpec(
        "S6",
        "P3",
        "企业上云与ERP云化迁移服务",
        "进销存和财务系统平滑上云",
        "提供系统云化改造和等保合规咨询。Cloud migration for SMEs.",
        ("cap.cloud_migration", "cap.erp"),
        ("18",),
        ("micro", "small"),
        (),
        ("saas",),
        (("one_off", 500_000),),
        published_day=15,
    ),
    SolutionSpec(
        "S7",
        "P3",
        "Predictive maintenance for CNC machines",
        "Vibration sensors and models predict spindle failures",
        "Works with FANUC FOCAS and MQTT; 数控机床预测性维护。",
        ("cap.predictive_maint",),
        ("34",),
        ("medium",),
        ("proto.fanuc_focas", "proto.mqtt"),
        ("edge_device",),
        (("outcome", 0),),
        published_day=1,
    ),
    SolutionSpec(
        "S8",
        "P4",
        "幽灵网关数据采集",
        "未入库服务商的方案",
        "不应被搜索到。",
        ("cap.data_acquisition",),
        ("29",),
        ("small",),
        (),
        ("saas",),
        (("subscription", 10_000),),
        published_day=2,
    ),
    SolutionSpec(
        "S9",
        "P5",
        "暗影平台设备联网",
        "被驳回服务商的方案",
        "不应被搜索到。",
        ("cap.data_acquisition",),
        ("29",),
        ("small",),
        (),
        ("saas",),
        (("subscription", 10_000),),
        published_day=3,
    ),
    SolutionSpec(
        "S10",
        "P6",
        "摩托车零部件数字化车间",
        "重庆本地的数字化车间改造",
        "覆盖生产管理与设备联网。",
        ("cap.mes", "cap.data_acquisition"),
        ("36",),
        ("medium",),
        (),
        ("on_premises",),
        (("one_off", 300_000),),
        published_day=12,
    ),
    SolutionSpec(
        "S11",
        "P6",
        "草稿方案不应出现",
        "草稿",
        "尚未发布。",
        ("cap.mes",),
        status="draft",
    ),
    SolutionSpec(
        "S12",
        "P6",
        "归档方案不应出现",
        "归档",
        "已经下架。",
        ("cap.mes",),
        ("36",),
        ("medium",),
        (),
        ("saas",),
        (("one_off", 1_000),),
        status="archived",
        published_day=4,
    ),
)


def load_corpus(session: Session) -> None:
    """Write the catalogue (flushed, not committed: the caller owns the transaction)."""
    agencies = {
        pool.key: Organisation(
            id=uid(f"org:{pool.key}"),
            kind="agency",
            name=f"{pool.name}主管部门",
            region_code=pool.jurisdiction,
            jurisdiction=pool.jurisdiction,
        )
        for pool in POOLS
    }
    companies = []
    providers = []
    for index, spec in enumerate(PROVIDERS, start=1):
        code = make_credit_code(area=spec.region, serial=f"GQ{index:07d}")
        companies.append(
            Organisation(
                id=uid(f"org:{spec.key}"),
                kind="provider",
                name=spec.name,
                credit_code=code,
                region_code=spec.region,
            )
        )
        providers.append(
            Provider(
                id=uid(spec.key),
                org_id=uid(f"org:{spec.key}"),
                legal_name=spec.name,
                credit_code=code,
                provider_type=spec.provider_type,
                registered_region=spec.region,
                size=spec.size,
                description_zh=spec.description,
                description_en=spec.description_en or None,
                certifications=[
                    Certification(name=name, issuer="测试认证机构") for name in spec.certifications
                ],
            )
        )
    session.add_all([*agencies.values(), *companies])
    session.flush()
    session.add_all(providers)
    session.add_all(
        Pool(
            id=uid(pool.key),
            agency_org_id=agencies[pool.key].id,
            jurisdiction=pool.jurisdiction,
            name=pool.name,
            categories=[{"id": "general", "name": "综合类", "provider_types": [], "quota": None}],
        )
        for pool in POOLS
    )
    session.flush()
    for spec in PROVIDERS:
        for pool_key, state, stars in spec.memberships:
            listed = state == "listed"
            session.add(
                PoolApplication(
                    id=uid(f"application:{spec.key}:{pool_key}"),
                    pool_id=uid(pool_key),
                    provider_id=uid(spec.key),
                    category_id="general",
                    declared_at=BASE_TIME - timedelta(days=90),
                    state=state,
                    star_rating=stars,
                    listed_since=BASE_TIME - timedelta(days=30) if listed else None,
                    decided_at=BASE_TIME - timedelta(days=40) if state != "in_notice" else None,
                )
            )
        for title, verified in spec.cases:
            session.add(
                Case(
                    provider_id=uid(spec.key),
                    title=title,
                    client_industry="29",
                    status="published",
                    published_at=BASE_TIME - timedelta(days=20),
                    verified=verified,
                )
            )
    for solution in SOLUTIONS:
        facets = [
            SolutionFacet(facet=facet, code=code, position=position)
            for facet, codes in (
                ("capability", solution.capabilities),
                ("industry", solution.industries),
                ("size", solution.sizes),
                ("protocol", solution.protocols),
                ("deployment", solution.deployments),
            )
            for position, code in enumerate(codes)
        ]
        session.add(
            Solution(
                id=uid(solution.key),
                provider_id=uid(solution.provider),
                title=solution.title,
                summary=solution.summary,
                description=solution.description,
                status=solution.status,
                published_at=(
                    BASE_TIME + timedelta(days=solution.published_day)
                    if solution.status != "draft"
                    else None
                ),
                facets=facets,
                scenes=[],
                prices=[
                    SolutionPrice(model=model, min_fen=fen, unit="元/月", position=position)
                    for position, (model, fen) in enumerate(solution.pricing)
                ],
            )
        )
    session.flush()


def corpus_documents() -> list[SearchDocument]:
    """The search documents of the catalogue, for backends fed with documents directly.

    Built the way the application builds them, in a scratch SQLite database.
    """
    from catalog.discovery.documents import iter_documents
    from core.database import Database
    from migrations import runner

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'golden.db'}"
        runner.upgrade(url)
        db = Database.from_url(url)
        try:
            with db.transaction() as session:
                load_corpus(session)
                return list(iter_documents(session))
        finally:
            db.engine.dispose()


CORPUS = corpus_documents


# --- the queries --------------------------------------------------------------------------------

PUBLIC_SOLUTIONS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S10")


@dataclass(frozen=True)
class GoldenCase:
    """One query and exactly which documents it finds (corpus keys)."""

    name: str
    q: str
    expected: tuple[str, ...]
    kind: DocKind = "solution"
    # Filter values; a pool is named by its corpus key ("pool:dg").
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    facets: tuple[str, ...] = ()
    sort: SortOrder = "relevance"
    first: str | None = None  # the document expected at rank 1
    order: tuple[str, ...] = ()  # when given, the exact order of all hits
    suggestion: str | None = None  # the expected "did you mean"

    @property
    def request(self) -> SearchRequest:
        filters = {
            name: tuple(str(uid(v)) if v.startswith("pool:") else v for v in values)
            for name, values in self.filters.items()
        }
        return SearchRequest(
            q=self.q, kind=self.kind, filters=filters, facets=self.facets, sort=self.sort, size=100
        )

    @property
    def expected_ids(self) -> frozenset[str]:
        return frozenset(doc_id(key) for key in self.expected)

    def __repr__(self) -> str:
        return self.name


def _case(name: str, q: str, expected: Sequence[str], **options: object) -> GoldenCase:
    return GoldenCase(name, q, tuple(expected), **options)  # type: ignore[arg-type]


CASES: tuple[GoldenCase, ...] = (
    # Substrings that word segmentation misses (DOMAIN.md §6), and their full words.
    _case("suffix 简单 in 安装简单", "简单", ["S1"]),
    _case("whole word 安装简单", "安装简单", ["S1"]),
    _case("suffix 工具箱 in 测试工具箱", "工具箱", ["S3"]),
    _case("whole word 测试工具箱", "测试工具箱", ["S3"]),
    # One character: a prefix of bigrams and the last character of runs.
    _case("single character 注", "注", ["S1"]),
    _case(
        "single character 云 (text, names, tags)",
        "云",
        ["S1", "S2", "S4", "S5", "S6", "S7"],
    ),
    _case("single character 车", "车", ["S1", "S2", "S10"]),
    # Typing: the last Latin word matches by prefix.
    _case("typing mod (modbus, models)", "mod", ["S1", "S4", "S7"]),
    _case("typing opc u", "opc u", ["S1"]),
    _case("typing predic", "predic", ["S7"]),
    _case("typing after Chinese 注塑 mo", "注塑 mo", ["S1"]),
    # Full-width input and synonyms.
    _case("full-width ＭＥＳ", "ＭＥＳ", ["S2", "S3", "S10"]),
    _case("synonym 制造执行系统 → MES", "制造执行系统", ["S2", "S3", "S10"]),
    _case("synonym 数采 → 数据采集", "数采", ["S1", "S4", "S10"]),
    _case("synonym 数据采集 → 数采", "数据采集", ["S1", "S4", "S10"]),
    _case("synonym 按月付费 → 订阅", "MES 按月付费", ["S2"]),
    # Pinyin for names: full, initials, polyphones.
    _case("pinyin initials of a provider", "czsl", ["P1"], kind="provider"),
    _case("full pinyin of a provider", "changzhou", ["P1"], kind="provider"),
    _case("provider name finds its solutions", "示例精工", ["S1", "S2"]),
    _case("polyphone 重庆 as chongqing", "chongqing", ["P6"], kind="provider"),
    # Mixed scripts and model numbers.
    _case("mixed 西门子S7", "西门子S7", ["S1"]),
    _case("model number S7-1200", "S7-1200", ["S1"]),
    _case("glued model number s71200", "s71200", ["S1"]),
    _case("mixed without space ERP云化", "ERP云化", ["S6"]),
    # English.
    # The phrase is a capability name, so its synonyms count too: OEE finds S2.
    _case("English phrase and its concept", "predictive maintenance", ["S2", "S7"]),
    _case("English words across fields", "cloud migration", ["S6"]),
    # Typos: Latin words of five letters or more.
    _case("typo modbos", "modbos", ["S1", "S4"], suggestion="modbus"),
    _case("nothing close", "zzzzqqq", []),
    # Filters with facets; OR within a filter, AND across.
    _case(
        "数采 in Jiangsu",
        "数采",
        ["S1"],
        filters={"province": ("320000",)},
        facets=("capability", "province"),
    ),
    _case("filter only: MES", "", ["S2", "S10"], filters={"capability": ("cap.mes",)}),
    _case(
        "filter OR within industry",
        "",
        ["S1", "S5"],
        filters={"industry": ("29", "21")},
        facets=("industry", "size"),
    ),
    _case(
        "filters AND across facets",
        "",
        ["S1", "S4", "S10"],
        filters={"capability": ("cap.data_acquisition",), "size": ("medium",)},
        facets=("capability", "pricing_model"),
    ),
    _case("pool filter", "", ["S3", "S4", "S5", "S10"], filters={"pool": ("pool:dg",)}),
    _case(
        "external to their pools",
        "",
        ["S3", "S4", "S5", "S10"],
        filters={"locality": ("external",)},
        facets=("locality", "pool"),
    ),
    _case("five stars", "", ["S3", "S4", "S5"], filters={"star_rating": ("5",)}),
    _case("certification", "", ["S3", "S4", "S5"], filters={"certification": ("CMMI 3级",)}),
    _case(
        "protocol family finds members",
        "",
        ["S1"],
        filters={"protocol": ("proto.s7",)},
        facets=("protocol",),
    ),
    _case(
        "providers by city",
        "",
        ["P1"],
        kind="provider",
        filters={"city": ("320400",)},
        facets=("size", "provider_type"),
    ),
    _case("provider by its case study", "注塑", ["P1"], kind="provider"),
    # Never found: not listed, rejected, draft, archived.
    _case("provider in notice", "幽灵网关", []),
    _case("rejected provider", "暗影平台", []),
    _case("draft solution", "草稿方案", []),
    _case("archived solution", "归档方案", []),
    _case("unlisted provider by name", "无锡未入库", [], kind="provider"),
    _case("everything public", "", PUBLIC_SOLUTIONS, facets=("capability", "province", "size")),
    # Ranking and sorting.
    _case("exact title first", "能耗监测与碳排放管理平台", ["S4"], first="S4"),
    _case("sort by price", "数采", ["S1", "S4", "S10"], sort="price", order=("S4", "S1", "S10")),
    _case("sort by rating", "数采", ["S1", "S4", "S10"], sort="rating", order=("S4", "S1", "S10")),
    _case(
        "sort by newest",
        "",
        ["S1", "S2", "S6", "S7"],
        filters={"province": ("320000",), "provider_type": ("product", "platform")},
        sort="newest",
        order=("S2", "S6", "S1", "S7"),
    ),
)


def check_case(backend: SearchBackend, case: GoldenCase) -> list[str]:
    """What the backend gets wrong about ``case`` ([] when nothing)."""
    result = backend.search(case.request)
    got = [hit.id for hit in result.hits]
    names = {doc_id(key): key for key in (*(s.key for s in SOLUTIONS), *(p.key for p in PROVIDERS))}

    def keys(ids: Sequence[str] | set[str] | frozenset[str]) -> list[str]:
        return sorted(names.get(i, i) for i in ids)

    problems = []
    if set(got) != case.expected_ids:
        problems.append(
            f"found {keys(got)}, expected {keys(case.expected_ids)}"
            f" (missing {keys(case.expected_ids - set(got))},"
            f" unexpected {keys(set(got) - case.expected_ids)})"
        )
    if result.total != len(case.expected_ids):
        problems.append(f"total {result.total}, expected {len(case.expected_ids)}")
    if case.first is not None and (not got or got[0] != doc_id(case.first)):
        problems.append(f"first {keys(got[:1])}, expected {case.first}")
    if case.order and got != [doc_id(key) for key in case.order]:
        problems.append(f"order {[names.get(i, i) for i in got]}, expected {list(case.order)}")
    if result.suggestion != case.suggestion:
        problems.append(f"suggestion {result.suggestion!r}, expected {case.suggestion!r}")
    missing_facets = set(case.facets) - set(result.facets)
    if missing_facets:
        problems.append(f"facets {sorted(missing_facets)} not counted")
    return problems


def run_golden(backend: SearchBackend) -> dict[str, list[str]]:
    """Every failing case by name, with its problems; empty when the backend passes."""
    failures = {case.name: check_case(backend, case) for case in CASES}
    return {name: problems for name, problems in failures.items() if problems}
