"""Search benchmark: the embedded SQL backend against a naive LIKE scan, same run, same data.

    .venv/bin/python benchmarks/search.py [--solutions 100000] [--postgres URL]
                                          [--database PATH] [--fresh] [--repeat 3] [--seed 7]

A synthetic catalogue (``market.demo.synth``: realistic Chinese listings, five solutions per
provider on average) is written to a SQLite file (kept under ``var/bench`` and reused by later
runs of the same size) or, with ``--postgres``, to that PostgreSQL database. Every provider is
then listed in one of two pools, so the whole catalogue is public.

Measured:

* the full reindex (``market search reindex``'s code path), documents and seconds;
* a full search page per query: top 20 with highlights, the total, three facet distributions
  (capability, industry, province) and one filter, in-process, one session per page, over 50+
  queries in Chinese, English and mixed text, including broad single characters, prefixes
  being typed, synonyms and typos; p50 and p95 over ``--repeat`` passes after a warm-up pass;
* the same pages the naive way: ``LIKE '%q%'`` over titles, summaries, descriptions and names,
  then COUNT and three GROUP BYs, once per query.

Printed as a table and written to ``benchmarks/results/search-<engine>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import (  # noqa: E402
    ColumnElement,
    String,
    and_,
    cast,
    distinct,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session  # noqa: E402

from catalog import visibility  # noqa: E402
from catalog.discovery import sync  # noqa: E402
from catalog.discovery.backends import synonym_table  # noqa: E402
from catalog.pools.models import Pool, PoolApplication  # noqa: E402
from catalog.providers.models import Provider  # noqa: E402
from catalog.solutions.models import Solution, SolutionFacet  # noqa: E402
from core.database import Database, utcnow  # noqa: E402
from market.accounts.models import Organisation  # noqa: E402
from market.demo.synth import synthesise  # noqa: E402
from migrations import runner  # noqa: E402
from search.backend import SearchRequest  # noqa: E402
from search.sql_backend import SqlBackend, maintain  # noqa: E402

HERE = Path(__file__).resolve().parent
console = Console()

# What SMEs type: broad single characters first, then words, English, mixed text, prefixes
# still being typed, synonyms, pinyin and typos.
QUERIES: tuple[str, ...] = (
    "云", "数", "网", "能", "质", "系", "管", "智", "车", "检",
    "数采", "注塑", "质检", "能耗", "排产", "仓储", "看板", "网关", "上云", "视觉",
    "设备联网", "数据采集", "预测性维护", "制造执行系统", "能源管理", "质量追溯",
    "工业互联网平台", "边缘计算", "安全生产", "协同办公", "设备管理", "生产管控",
    "MES", "ERP", "WMS", "SCADA", "modbus", "OPC UA", "PLC", "SaaS",
    "mod", "opc u", "数据采", "注塑车", "modbos", "predictve",
    "注塑 数采", "MES 按月付费", "西门子S7", "5G专网", "ERP 进销存", "视觉检测 缺陷",
    "changzhou", "注塑 MES 看板",
)  # fmt: skip
# One filter per page, taken in turn: broad and narrow ones.
FILTERS: tuple[tuple[str, str], ...] = (
    ("province", "320000"),
    ("size", "small"),
    ("deployment", "saas"),
    ("capability", "cap.data_acquisition"),
    ("province", "440000"),
    ("industry", "29"),
)
FACETS = ("capability", "industry", "province")
POOLS = (("320000", "江苏省工业互联网服务资源池（合成）"), ("440000", "广东省供给资源池（合成）"))


@dataclass
class Timing:
    q: str
    filter: tuple[str, str]
    total: int
    ms: list[float]
    cpu_ms: list[float]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    # Nearest rank, so p95 of 200 samples is the 190th value, a time that actually happened.
    rank = max(1, round(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# --- data ---------------------------------------------------------------------------------------


def prepare(db: Database, url: str, *, solutions: int, seed: int) -> dict[str, int]:
    runner.upgrade(url)
    providers = solutions // 5
    with db.transaction() as session:
        have = int(session.scalar(select(func.count()).select_from(Provider)) or 0)
    if have < providers:
        console.print(f"synthesising {providers - have} providers (about {solutions} solutions)")
        synthesise(
            db, providers=providers - have, solutions_per_provider=5, seed=seed, progress=True
        )
    with db.transaction() as session:
        listed = list_everyone(session, random.Random(seed))
        counts = {
            "providers": int(session.scalar(select(func.count()).select_from(Provider)) or 0),
            "solutions": int(
                session.scalar(
                    select(func.count())
                    .select_from(Solution)
                    .where(visibility.is_public_solution())
                )
                or 0
            ),
            "newly_listed": listed,
        }
    return counts


def list_everyone(session: Session, rng: random.Random) -> int:
    """List every provider without a listing: in its own province's pool when there is one,
    otherwise (an external provider) in either."""
    pools = {}
    for jurisdiction, name in POOLS:
        pool_id = session.scalar(select(Pool.id).where(Pool.name == name))
        if pool_id is None:
            agency = Organisation(kind="agency", name=f"{name}主管部门", jurisdiction=jurisdiction)
            session.add(agency)
            session.flush()
            pool = Pool(agency_org_id=agency.id, jurisdiction=jurisdiction, name=name)
            session.add(pool)
            session.flush()
            pool_id = pool.id
        pools[jurisdiction[:2]] = pool_id
    unlisted = session.execute(
        select(Provider.id, Provider.registered_region).where(
            ~exists().where(PoolApplication.provider_id == Provider.id)
        )
    ).all()
    now = utcnow()
    rows = [
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "pool_id": pools.get(region[:2]) or rng.choice(list(pools.values())),
            "provider_id": provider_id,
            "category_id": "general",
            "declared_at": now - timedelta(days=60),
            "state": "listed",
            "star_rating": rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 4, 3, 1))[0],
            "listed_since": now - timedelta(days=rng.randint(1, 700)),
            "decided_at": now - timedelta(days=30),
        }
        for provider_id, region in unlisted
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(PoolApplication), rows[start : start + 5000])
    return len(rows)


# --- the two ways to answer a page ------------------------------------------------------------


def embedded_page(db: Database, q: str, chosen: tuple[str, str]) -> int:
    with db.sessions() as session:
        backend = SqlBackend(session, synonyms=synonym_table())
        request = SearchRequest(q=q, filters={chosen[0]: [chosen[1]]}, facets=FACETS, size=20)
        return backend.search(request).total


def _like_filter(chosen: tuple[str, str]) -> ColumnElement[bool]:
    facet, value = chosen
    if facet == "province":
        return Provider.registered_region.startswith(value[:2])
    if facet == "industry":
        return exists().where(
            SolutionFacet.solution_id == Solution.id,
            SolutionFacet.facet == "industry",
            SolutionFacet.code.startswith(value),
        )
    return exists().where(
        SolutionFacet.solution_id == Solution.id,
        SolutionFacet.facet == facet,
        SolutionFacet.code == value,
    )


def like_page(db: Database, q: str, chosen: tuple[str, str]) -> int:
    """The page without a search index: every word must occur somewhere, LIKE '%word%'.

    Built like the embedded page, so the comparison is about the index and nothing else: the
    scan runs once into a materialised CTE, and one statement returns the top 20 (newest
    first: LIKE has no relevance), the total and the three facet distributions.
    """
    words = q.split()
    text_match = and_(
        *(
            or_(
                Solution.title.contains(word, autoescape=True),
                Solution.summary.contains(word, autoescape=True),
                Solution.description.contains(word, autoescape=True),
                Provider.legal_name.contains(word, autoescape=True),
            )
            for word in words
        )
    )
    matched = (
        select(
            Solution.id.label("sid"),
            Solution.published_at.label("published_at"),
            func.substr(Provider.registered_region, 1, 2).label("province"),
        )
        .join(Provider, Provider.id == Solution.provider_id)
        .where(visibility.is_public_solution(), text_match, _like_filter(chosen))
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )
    top = select(matched.c.sid).order_by(matched.c.published_at.desc()).limit(20).subquery("top")
    nothing = cast(null(), String)
    code = {"capability": SolutionFacet.code, "industry": func.substr(SolutionFacet.code, 1, 2)}
    parts: list[Any] = [
        select(literal("top"), nothing, literal(0)).select_from(top),
        select(literal("total"), nothing, func.count()).select_from(matched),
        select(literal("province"), matched.c.province, func.count()).group_by(matched.c.province),
        *(
            select(literal(facet), value, func.count(distinct(SolutionFacet.solution_id)))
            .where(
                SolutionFacet.facet == facet, SolutionFacet.solution_id.in_(select(matched.c.sid))
            )
            .group_by(value)
            for facet, value in code.items()
        ),
    ]
    with db.sessions() as session:
        rows = session.execute(union_all(*parts)).all()
    return next(int(n) for part, _, n in rows if part == "total")


def measure(
    page: Callable[[Database, str, tuple[str, str]], int],
    db: Database,
    *,
    repeat: int,
    warm_up: bool = True,
) -> list[Timing]:
    timings = [Timing(q, FILTERS[i % len(FILTERS)], 0, [], []) for i, q in enumerate(QUERIES)]
    if warm_up:  # caches, pypinyin dictionaries, statement compilation
        for timing in timings:
            page(db, timing.q, timing.filter)
    for _ in range(repeat):
        for timing in timings:
            started, cpu = time.perf_counter(), time.process_time()
            timing.total = page(db, timing.q, timing.filter)
            timing.ms.append((time.perf_counter() - started) * 1000)
            # CPU time of this process (the database runs in-process on SQLite): what the page
            # costs when the machine is not shared; wall time is what a user waits.
            timing.cpu_ms.append((time.process_time() - cpu) * 1000)
    return timings


# --- reporting --------------------------------------------------------------------------------


def summary(timings: list[Timing]) -> dict[str, float]:
    samples = [ms for timing in timings for ms in timing.ms]
    cpu = [ms for timing in timings for ms in timing.cpu_ms]
    return {
        "samples": len(samples),
        "p50_ms": round(percentile(samples, 0.50), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "max_ms": round(max(samples), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "cpu_p50_ms": round(percentile(cpu, 0.50), 2),
        "cpu_p95_ms": round(percentile(cpu, 0.95), 2),
    }


def machine(db: Database) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "engine": db.engine.dialect.name,
    }
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            info["sqlite"] = sqlite3.sqlite_version
        else:
            info["postgresql"] = connection.exec_driver_sql("SHOW server_version").scalar()
    return info


def database_bytes(db: Database, path: Path | None) -> int:
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with db.engine.connect() as connection:
        return int(
            connection.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--solutions", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="benchmark this PostgreSQL database")
    parser.add_argument("--database", type=Path, help="SQLite file (default under var/bench)")
    parser.add_argument("--fresh", action="store_true", help="start from an empty SQLite file")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="JSON output (default benchmarks/results/)")
    args = parser.parse_args(argv)

    path: Path | None = None
    if args.postgres:
        url = args.postgres
    else:
        path = args.database or HERE.parent / "var" / "bench" / f"search-{args.solutions}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        if args.fresh:
            for old in path.parent.glob(path.name + "*"):
                old.unlink()
        url = f"sqlite:///{path}"
    db = Database.from_url(url)
    counts = prepare(db, url, solutions=args.solutions, seed=args.seed)

    load_before = os.getloadavg()
    started, cpu = time.perf_counter(), time.process_time()
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        if done % 20_000 < count:
            elapsed = time.perf_counter() - started
            console.print(f"  reindexing: {done} documents, {elapsed:.0f} s")

    with db.transaction() as session:
        backend = SqlBackend(session, synonyms=synonym_table())
        documents = sync.reindex(session, backend, on_progress=progress)
    reindex_s, reindex_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    # As `market search reindex` does after committing (VACUUM ANALYZE / WAL checkpoint).
    started = time.perf_counter()
    maintain(db.engine)
    maintenance_s = time.perf_counter() - started
    console.print(
        f"reindexed {documents} documents in {reindex_s:.1f} s ({reindex_cpu_s:.1f} s CPU here)"
    )

    console.print(f"embedded search: {len(QUERIES)} queries × {args.repeat} …")
    embedded = measure(embedded_page, db, repeat=args.repeat)
    console.print(f"LIKE baseline: {len(QUERIES)} queries × 1 …")
    # Seconds per page: one pass, no warm-up (a scan reads the same pages either way).
    baseline = measure(like_page, db, repeat=1, warm_up=False)

    engine = db.engine.dialect.name
    ours, theirs = summary(embedded), summary(baseline)
    size = f"{counts['solutions']} solutions, {counts['providers']} providers"
    table = Table(title=f"search page on {engine}: {size}")
    for name in ("", "embedded search", "naive LIKE scan"):
        table.add_column(name, justify="right" if name else "left")
    for key in ("p50_ms", "p95_ms", "max_ms", "mean_ms", "cpu_p50_ms", "cpu_p95_ms", "samples"):
        table.add_row(key, str(ours[key]), str(theirs[key]))
    table.add_row("reindex", f"{reindex_s:.1f} s ({documents} documents)", "—")
    table.add_row("then VACUUM / checkpoint", f"{maintenance_s:.1f} s", "—")
    table.add_row("load average", " / ".join(f"{x:.1f}" for x in os.getloadavg()), "")
    console.print(table)
    slowest = sorted(embedded, key=lambda t: -max(t.ms))[:5]
    console.print(
        "slowest embedded pages: "
        + ", ".join(f"{t.q!r} [{t.filter[0]}] {max(t.ms):.1f} ms ({t.total} hits)" for t in slowest)
    )

    result = {
        "benchmark": "search",
        "machine": machine(db),
        "data": {
            **counts,
            "documents": documents,
            "database_bytes": database_bytes(db, path),
        },
        "page": {"size": 20, "facets": list(FACETS), "filters": [list(f) for f in FILTERS]},
        "reindex_s": round(reindex_s, 2),
        # On PostgreSQL the server's own work is not in this process's CPU time.
        "reindex_cpu_s": round(reindex_cpu_s, 2),
        "maintenance_s": round(maintenance_s, 2),
        # Other work on the machine during the run (1, 5, 15 minute load averages).
        "load_average": {"before_reindex": load_before, "after_queries": os.getloadavg()},
        "embedded": ours,
        "like_baseline": theirs,
        "targets": {"p95_ms": 30 if engine == "sqlite" else 50, "reindex_s": 60},
        "queries": [
            {
                "q": e.q,
                "filter": list(e.filter),
                "total": e.total,
                "embedded_ms": [round(ms, 2) for ms in e.ms],
                "embedded_cpu_ms": [round(ms, 2) for ms in e.cpu_ms],
                "like_total": b.total,
                "like_ms": [round(ms, 2) for ms in b.ms],
            }
            for e, b in zip(embedded, baseline, strict=True)
        ],
    }
    out = args.out or HERE / "results" / f"search-{engine}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {out}")
    db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
