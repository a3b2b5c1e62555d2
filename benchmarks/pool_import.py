"""Importing a pool list and delivering its outbox events, end to end.

    .venv/bin/python benchmarks/pool_import.py                  # SQLite, 10,000 rows
    .venv/bin/python benchmarks/pool_import.py --rows 2000
    .venv/bin/python benchmarks/pool_import.py --postgres postgresql://postgres@127.0.0.1:5432/x

Builds a fresh database (a file in var/bench/, or the given PostgreSQL database, which must be
empty), creates one pool, imports a CSV list of ``--rows`` new providers through the code path of
``market pool import`` and then drains the outbox with the app's subscribers, as the command and
``market worker`` do: every listing is one ``pool.membership.changed`` event that the search
index handles. Prints a table and writes ``benchmarks/results/pool-import-<engine>.json``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MARKET_ENV", "test")
os.environ.pop("MARKET_MEILI_URL", None)

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from catalog.discovery.backends import search_backend  # noqa: E402
from catalog.pools import importing  # noqa: E402
from catalog.pools.models import Pool  # noqa: E402
from catalog.taxonomy import make_credit_code  # noqa: E402
from core.database import Database  # noqa: E402
from core.outbox import OutboxEvent, Relay  # noqa: E402
from core.settings import get_settings  # noqa: E402
from market.accounts.models import Organisation  # noqa: E402
from market.app import subscribe_handlers  # noqa: E402
from migrations import runner  # noqa: E402

console = Console()
HEADER = ["企业名称", "统一社会信用代码", "服务商类型", "所在地区", "入库类别", "服务能力"]


def pool_list(rows: int) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for number in range(rows):
        writer.writerow(
            [
                f"常州导入基准{number:06d}有限公司",
                make_credit_code(area="320400", serial=f"B{number:08d}"),
                "“小快轻准”产品型服务商",
                "江苏省常州市",
                "综合",
                "MES、设备联网与数据采集",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def make_pool(db: Database) -> Pool:
    with db.transaction() as session:
        agency = Organisation(kind="agency", name="常州市工业和信息化局", jurisdiction="320400")
        session.add(agency)
        session.flush()
        pool = Pool(
            agency_org_id=agency.id,
            jurisdiction="320400",
            name="常州市工业互联网服务资源池（基准）",
            categories=[{"id": "general", "name": "综合", "provider_types": [], "industries": []}],
            scorecard=[
                {"id": "all", "name": "综合评分", "max_points": 100, "weight": 1.0, "guidance": ""}
            ],
        )
        session.add(pool)
        session.flush()
        return pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL")
    args = parser.parse_args()
    if args.postgres:
        url, engine = args.postgres, "postgresql"
    else:
        path = ROOT / "var" / "bench" / f"pool-import-{args.rows}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        url, engine = f"sqlite:///{path}", "sqlite"
    os.environ["MARKET_DATABASE_URL"] = url
    get_settings.cache_clear()
    runner.upgrade(url, "head")
    db = Database.from_url(url)
    pool = make_pool(db)
    data = pool_list(args.rows)

    started = time.perf_counter()
    with db.transaction() as session:
        report = importing.import_pool_list(
            session, actor=None, pool_id=pool.id, filename="基准.csv", data=data, dry_run=False
        )
    imported = time.perf_counter() - started
    if report.errors or not report.imported:
        raise SystemExit(f"import failed: {report.errors[:3]}")

    relay = Relay(db=db)
    subscribe_handlers(relay)
    started = time.perf_counter()
    delivered = relay.drain()
    delivery = time.perf_counter() - started

    with db.transaction() as session:
        pending = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.processed_at.is_(None))
        )
        indexed = len(search_backend(session, get_settings()).state().fingerprints)

    results: dict[str, Any] = {
        "engine": engine,
        "rows": args.rows,
        "import_seconds": round(imported, 2),
        "delivery_seconds": round(delivery, 2),
        "total_seconds": round(imported + delivery, 2),
        "events_delivered": delivered,
        "events_pending": int(pending or 0),
        "documents_indexed": indexed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
    }
    table = Table(title=f"pool import + outbox delivery ({engine}, {args.rows:,} rows)")
    for name in ("step", "value"):
        table.add_column(name)
    for key in ("import_seconds", "delivery_seconds", "total_seconds"):
        table.add_row(key, f"{results[key]:.2f} s")
    for key in ("events_delivered", "events_pending", "documents_indexed"):
        table.add_row(key, f"{results[key]:,}")
    console.print(table)
    out = ROOT / "benchmarks" / "results" / f"pool-import-{engine}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
