"""``market match eval``: every metric for the engine and both baselines from one judged file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from catalog.pools.models import Pool, PoolApplication
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice
from core.database import Database, utcnow
from core.settings import get_settings
from market.accounts.models import Organisation
from market.cli import app as cli
from migrations import runner
from tests.support import credit_code, scratch_database_url

# (key, region, capabilities, industry, listed)
PROVIDERS = (
    ("a", "320400", ["cap.data_acquisition", "cap.edge_gateway"], "29", True),
    ("b", "320500", ["cap.data_acquisition"], "34", True),
    ("c", "441900", ["cap.mes"], "29", True),
    ("d", "320400", ["cap.data_acquisition"], "29", False),
)


def add_tiny_catalog(session: Session) -> dict[str, str]:
    """Four providers with one published solution each; three are listed in a pool."""
    agency = Organisation(kind="agency", name="测试工信局", jurisdiction="320400")
    session.add(agency)
    session.flush()
    pool = Pool(agency_org_id=agency.id, jurisdiction="320400", name="测试资源池")
    session.add(pool)
    session.flush()
    ids: dict[str, str] = {}
    for key, region, capabilities, industry, listed in PROVIDERS:
        code = credit_code()
        org = Organisation(kind="provider", name=f"评测{key}公司", credit_code=code)
        session.add(org)
        session.flush()
        provider = Provider(
            org_id=org.id,
            legal_name=org.name,
            credit_code=code,
            provider_type="product",
            registered_region=region,
            capacity=5,
        )
        session.add(provider)
        session.flush()
        facets = [
            SolutionFacet(facet="capability", code=cap, position=i)
            for i, cap in enumerate(capabilities)
        ]
        facets.append(SolutionFacet(facet="industry", code=industry, position=0))
        solution = Solution(
            provider_id=provider.id,
            title=f"{key} 设备联网数据采集方案",
            summary="注塑机数采",
            description="设备联网与数据采集，支持 Modbus TCP",
            status="published",
            published_at=utcnow(),
            facets=facets,
            prices=[SolutionPrice(model="subscription", min_fen=30000, unit="元/月")],
        )
        session.add(solution)
        if listed:
            session.add(
                PoolApplication(
                    pool_id=pool.id,
                    provider_id=provider.id,
                    category_id="general",
                    declared_at=utcnow(),
                    state="listed",
                    listed_since=utcnow(),
                )
            )
        session.flush()
        ids[key] = str(provider.id)
    return ids


@pytest.fixture
def providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    url, drop = scratch_database_url(tmp_path, "match_cli")
    runner.upgrade(url)
    database = Database.from_url(url)
    with database.transaction() as session:
        ids = add_tiny_catalog(session)
    database.engine.dispose()
    monkeypatch.setenv("MARKET_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield ids
    finally:
        get_settings.cache_clear()
        drop()


def test_eval_prints_every_metric_for_the_engine_and_both_baselines(
    providers: dict[str, str], tmp_path: Path
) -> None:
    judged = tmp_path / "tiny.jsonl"
    lines = [
        {
            "need": {
                "need_id": "n1",
                "must_capabilities": ["cap.data_acquisition"],
                "industry_code": "2929",
                "region_code": "320400",
                "sme_size": "small",
                "text": "注塑机设备联网数据采集",
            },
            "judgments": {providers["a"]: 3, providers["b"]: 2, providers["c"]: 0},
        },
        {
            "need": {"need_id": "n2", "must_capabilities": ["cap.mes"], "text": "MES 制造执行"},
            "judgments": {providers["c"]: 3},
        },
    ]
    judged.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n")
    out = tmp_path / "eval.json"

    result = CliRunner().invoke(
        cli, ["match", "eval", str(judged), "--k", "5", "--json", str(out), "--no-embedding"]
    )

    assert result.exit_code == 0, result.output
    for label in (
        "NDCG@5",
        "NDCG@10",
        "MRR",
        "recall@10",
        "hard-constraint violation rate",
        "exposure Gini",
        "new-provider share",
        "full engine",
        "text only",
        "rating only",
    ):
        assert label in result.output, label
    report = json.loads(out.read_text())
    assert report["needs"] == 2
    assert report["k"] == 5
    assert report["text_mode"] == "bm25"
    assert set(report["systems"]) == {"engine", "text_only", "rating_only"}
    engine = report["systems"]["engine"]
    assert engine["violation_rate"] == 0.0
    # The unlisted provider d is never shown; the engine puts the 3 first for both needs.
    assert engine["mrr"] == 1.0
    assert engine["ndcg_5"] > 0.9


def test_eval_names_the_line_of_a_bad_judgment(providers: dict[str, str], tmp_path: Path) -> None:
    judged = tmp_path / "bad.jsonl"
    judged.write_text('{"need": {"need_id": "x"}, "judgments": {"p": 5}}\n')

    result = CliRunner().invoke(cli, ["match", "eval", str(judged), "--no-embedding"])

    assert result.exit_code == 2
    assert f"{judged}:1: grade for p must be an integer 0-3" in result.output
