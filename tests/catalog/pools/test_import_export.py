"""Bulk import of existing pool lists (XLSX; CSV in UTF-8 with or without BOM, or GBK) with a
row-level report and all-or-nothing writes, the export of a pool as CSV and XLSX, and the
``market pool`` commands."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from catalog.pools import importing
from catalog.pools.models import PoolApplication
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet
from core.audit import AuditRecord
from core.database import Database
from core.outbox import OutboxEvent
from core.settings import Settings, get_settings
from market.accounts.models import Organisation
from market.app import create_app
from market.cli import app as cli
from migrations import runner
from tests.catalog.pools.test_application_lifecycle import Flow, new_flow
from tests.catalog.pools.test_pool_management import agency, create_pool, error
from tests.catalog.pools.test_sanctions_and_appeals import get, ok, sanctioned
from tests.support import Actor, Api, complete_solution, credit_code, scratch_database_url

HEADER = [
    "序号",
    "企业名称",
    "统一社会信用代码",
    "服务商类型",
    "所在地区",
    "入库类别",
    "服务能力",
    "联系人",
    "联系电话",
    "电子邮箱",
]
ENGLISH = [
    "No.",
    "Company name",
    "Credit code",
    "Provider type",
    "Region",
    "Category",
    "Capabilities",
    "Contact",
    "Phone",
    "E-mail",
]
CATEGORIES = [
    {"id": "injection", "name": "注塑行业", "industries": ["29"]},
    {"id": "integrators", "name": "综合集成", "provider_types": ["integrator"]},
]


def row(number: int, **overrides: Any) -> list[str]:
    values = {
        "name": f"常州导入测试{uuid.uuid4().hex[:8]}有限公司",
        "code": credit_code(),
        "type": "“小快轻准”产品型服务商",
        "region": "江苏省常州市",
        "category": "注塑行业",
        "capabilities": "MES、设备联网与数据采集",
        "contact": "张工",
        "phone": "0519-88888888",
        "email": "zhang@example.com",
    }
    values.update(overrides)
    return [str(number), *values.values()]


def rows(count: int) -> list[list[str]]:
    return [row(i + 1) for i in range(count)]


def csv_bytes(
    table: list[list[str]], *, header: list[str] = HEADER, encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(table)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(
    table: list[list[Any]], *, header: list[str] = HEADER, title: str | None = None
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
    sheet.append(header)
    for line in table:
        sheet.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(
    api: Api,
    actor: Actor,
    pool: dict[str, Any],
    content: bytes,
    *,
    filename: str = "名单.csv",
    dry_run: bool = True,
    category: str | None = None,
) -> httpx.Response:
    params: dict[str, Any] = {"dry_run": str(dry_run).lower()}
    if category:
        params["category"] = category
    return api.client.post(
        f"/api/v1/pools/{pool['id']}/import",
        params=params,
        files={"file": (filename, content, "application/octet-stream")},
        headers=actor.headers,
    )


def counts(api: Api) -> tuple[int, int, int, int]:
    with api.db.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(Provider)) or 0,
            session.scalar(select(func.count()).select_from(PoolApplication)) or 0,
            session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
            session.scalar(select(func.count()).select_from(Solution)) or 0,
        )


class Pool:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.team = agency(api)
        self.curator = self.team.curator
        self.data = create_pool(api, self.curator, categories=CATEGORIES)

    def upload(self, content: bytes, **kwargs: Any) -> httpx.Response:
        return upload(self.api, self.curator, self.data, content, **kwargs)

    def report(self, content: bytes, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = ok(self.upload(content, **kwargs))
        return result


@pytest.fixture
def pool(api: Api) -> Pool:
    return Pool(api)


def issues(report: dict[str, Any], kind: str = "errors") -> list[tuple[int, str | None]]:
    return [(i["row"], i["column"]) for i in report[kind]]


# --- reading files -----------------------------------------------------------------------------


def test_dry_run_reports_every_row_and_writes_nothing(pool: Pool) -> None:
    before = counts(pool.api)

    report = pool.report(csv_bytes(rows(3)))

    assert (report["dry_run"], report["imported"], report["rows"], report["rows_ok"]) == (
        True,
        False,
        3,
        3,
    )
    assert report["columns"]["credit_code"] == "统一社会信用代码"
    assert report["errors"] == []
    assert counts(pool.api) == before


def test_import_lists_every_row_with_a_new_provider(pool: Pool) -> None:
    table = rows(3)
    before = counts(pool.api)

    report = pool.report(csv_bytes(table), dry_run=False)

    assert (report["imported"], report["listed"], report["new_providers"]) == (True, 3, 3)
    after = counts(pool.api)
    assert (after[0] - before[0], after[1] - before[1], after[3] - before[3]) == (3, 3, 3)
    members = ok(get(pool.api, None, f"/pools/{pool.data['id']}/members"))
    injection = next(c for c in members["categories"] if c["id"] == "injection")
    assert sorted(m["provider_name"] for m in injection["members"]) == sorted(r[1] for r in table)
    applications = ok(get(pool.api, pool.curator, f"/pools/{pool.data['id']}/applications"))
    assert {(a["state"], a["source"]) for a in applications["items"]} == {("listed", "import")}
    with pool.api.db.transaction() as session:
        provider = session.scalars(
            select(Provider).where(Provider.credit_code == table[0][2])
        ).one()
        assert (provider.provider_type, provider.registered_region) == ("product", "320400")
        assert (provider.contact_name, provider.contact_email) == ("张工", "zhang@example.com")
        capabilities = session.scalars(
            select(SolutionFacet.code)
            .join(Solution, Solution.id == SolutionFacet.solution_id)
            .where(Solution.provider_id == provider.id, Solution.status == "draft")
            .order_by(SolutionFacet.position)
        ).all()
        assert capabilities == ["cap.mes", "cap.data_acquisition"]
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.scope_id == uuid.UUID(pool.data["id"]))
        ).all()
        assert actions.count("pool.application.imported") == 3
        assert actions.count("pool.imported") == 1
        events = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic == "pool.membership.changed")
        ).all()
        assert {e["provider_id"] for e in events} >= {str(provider.id)}


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b""), ("gb18030", b""), ("utf-16", b"")],
)
def test_csv_in_utf8_with_or_without_bom_and_in_gbk_is_read(
    pool: Pool, encoding: str, bom: bytes
) -> None:
    table = rows(2)

    report = pool.report(bom + csv_bytes(table, encoding=encoding))

    assert report["errors"] == []
    assert report["rows_ok"] == 2
    assert report["columns"]["name"] == "企业名称"


def test_xlsx_with_a_title_row_and_english_headers_are_read(pool: Pool) -> None:
    table = rows(2)
    zh = pool.report(
        xlsx_bytes(table, title="常州市工业互联网服务资源池入库名单"), filename="名单.xlsx"
    )
    en = pool.report(csv_bytes(table, header=ENGLISH))

    assert (zh["errors"], zh["rows_ok"]) == ([], 2)
    assert (en["errors"], en["rows_ok"]) == ([], 2)
    assert en["columns"]["credit_code"] == "Credit code"


def test_row_numbers_point_at_the_spreadsheet_rows(pool: Pool) -> None:
    table = rows(4)
    table[1][2] = "91320400MA1ABCDEF0"  # wrong check character
    table[2][2] = table[0][2]  # duplicate within the file
    table[3][4] = "火星市"  # unknown region
    content = xlsx_bytes(table, title="名单")  # title in row 1, header in row 2

    report = pool.report(content, filename="名单.xlsx")

    assert issues(report) == [(4, "credit_code"), (5, "credit_code"), (6, "region")]
    assert "与第 3 行重复" in report["errors"][1]["message"]
    assert report["errors"][0]["value"] == "91320400MA1ABCDEF0"
    assert (report["rows"], report["rows_ok"], report["rows_failed"]) == (4, 1, 3)


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        (2, "", "credit_code"),
        (2, "91320400 ABC", "credit_code"),
        (1, "", "name"),
        (3, "魔法型", "provider_type"),
        (5, "不存在的类别", "category"),
        (6, "MES、读心术", "capabilities"),
        (8, "call me", "contact_phone"),
        (9, "not-an-email", "contact_email"),
    ],
)
def test_invalid_cells_are_reported_by_column(
    pool: Pool, column: int, value: str, field: str
) -> None:
    table = rows(1)
    table[0][column] = value

    report = pool.report(csv_bytes(table))

    assert issues(report) == [(2, field)]


def test_a_category_that_admits_one_type_supplies_it(pool: Pool) -> None:
    table = [row(1, type="", category="综合集成"), row(2, type="产品型", category="integrators")]

    report = pool.report(csv_bytes(table))

    assert issues(report) == [(3, "provider_type")]


def test_rows_without_a_category_take_the_one_given(pool: Pool) -> None:
    table = [row(1, category="")]

    without = pool.report(csv_bytes(table))
    given = pool.report(csv_bytes(table), category="injection")
    unknown = pool.report(csv_bytes(table), category="nope")

    assert issues(without) == [(2, "category")]
    assert given["errors"] == []
    assert issues(unknown) == [(0, "category")]


def test_firms_on_the_platform_are_reused_and_members_refused(api: Api, pool: Pool) -> None:
    registered = api.provider()
    with api.db.transaction() as session:
        registered_code = session.scalar(
            select(Provider.credit_code).where(Provider.id == registered.provider_id)
        )
    table = [row(1, code=registered_code)]

    report = pool.report(csv_bytes(table), dry_run=False)

    assert (report["new_providers"], report["existing_providers"], report["listed"]) == (0, 1, 1)
    assert issues(report, "warnings") == [(2, "credit_code")]
    badges = ok(get(api, None, f"/providers/{registered.provider_id}/badges"))
    assert [b["pool_id"] for b in badges] == [pool.data["id"]]
    again = pool.report(csv_bytes(table))
    assert issues(again) == [(2, "credit_code")]
    assert "已在本资源池中" in again["errors"][0]["message"]
    sme = api.sme()
    with api.db.transaction() as session:
        sme_code = session.scalar(
            select(Organisation.credit_code).where(Organisation.id == sme.org_id)
        )
    clash = pool.report(csv_bytes([row(1, code=sme_code)]))
    assert issues(clash) == [(2, "credit_code")]
    assert "sme" in clash["errors"][0]["message"]


def test_one_bad_row_imports_nothing(pool: Pool) -> None:
    table = rows(5)
    table[3][2] = "123"
    before = counts(pool.api)

    response = pool.upload(csv_bytes(table), dry_run=False)

    assert response.status_code == 422
    body = error(response)
    assert body["code"] == "import_rejected"
    assert (body["details"]["rows_failed"], body["details"]["imported"]) == (1, False)
    assert [e["row"] for e in body["details"]["errors"]] == [5]
    assert counts(pool.api) == before


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"PK\x03\x04 not really a zip", "名单.xlsx", "damaged"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "名单.xls", ".xls"),
        (b"just some text\nwithout any header\n", "名单.csv", "No header row"),
        (b"", "empty.csv", "empty"),
        (b"\x81\x20\xff\xfe\x80" * 10, "garbage.csv", "neither UTF-8 nor GBK"),
        (b"%PDF-1.7 pretending", "名单.xlsx", "not an XLSX"),
    ],
)
def test_malformed_files_are_reported_not_crashed(
    pool: Pool, content: bytes, filename: str, message: str
) -> None:
    before = counts(pool.api)

    report = pool.report(content, filename=filename)

    assert len(report["errors"]) == 1
    assert message in report["errors"][0]["message"]
    assert counts(pool.api) == before


def test_missing_required_columns_are_named(pool: Pool) -> None:
    content = csv_bytes([["常州某公司", "江苏省常州市"]], header=["企业名称", "所在地区"])

    report = pool.report(content)

    assert issues(report) == [(1, "credit_code")]


def test_unknown_columns_are_ignored_with_a_warning(pool: Pool) -> None:
    table = [[*r, "备用"] for r in rows(1)]

    report = pool.report(csv_bytes(table, header=[*HEADER, "奇怪的列"]))

    assert report["errors"] == []
    assert [(w["row"], w["value"]) for w in report["warnings"]] == [(1, "奇怪的列")]


def test_import_is_for_the_pools_curators(api: Api, pool: Pool) -> None:
    outsider = api.curator(jurisdiction="440000")
    provider = api.provider()

    other = upload(api, outsider, pool.data, csv_bytes(rows(1)))
    wrong_role = upload(api, provider, pool.data, csv_bytes(rows(1)))

    assert other.status_code == 403
    assert error(other)["code"] == "not_pool_curator"
    assert wrong_role.status_code == 403
    assert error(wrong_role)["code"] == "role_required"


def test_ten_thousand_rows_import_in_one_go(api: Api, pool: Pool) -> None:
    """Correctness is asserted; the time is printed for the record (run with -s to see it)."""
    table = rows(10_000)
    content = csv_bytes(table)
    with api.db.transaction() as session:
        started = time.perf_counter()
        report = importing.import_pool_list(
            session,
            actor=None,
            pool_id=uuid.UUID(pool.data["id"]),
            filename="big.csv",
            data=content,
            dry_run=False,
        )
        seconds = time.perf_counter() - started
    with api.db.transaction() as session:
        listed = session.scalar(
            select(func.count()).where(PoolApplication.pool_id == uuid.UUID(pool.data["id"]))
        )
    print(f"\n[import timing] 10,000 rows on {api.db.engine.dialect.name}: {seconds:.2f} s")
    assert report.errors == []
    assert listed == 10_000


# --- export ------------------------------------------------------------------------------------


def exported(api: Api, actor: Actor, pool: dict[str, Any], fmt: str) -> httpx.Response:
    return api.client.get(
        f"/api/v1/pools/{pool['id']}/export", params={"format": fmt}, headers=actor.headers
    )


def test_export_lists_providers_on_show_with_badges_and_solutions(api: Api) -> None:
    shown = new_flow(api).listed()
    # A second provider listed in the same pool, then suspended: not part of the export.
    rival = api.provider()
    solution = ok(
        api.client.post("/api/v1/solutions", json=complete_solution(), headers=rival.headers)
    )
    hidden = Flow(
        api=api,
        team=shown.team,
        reviewers=shown.reviewers,
        provider=rival,
        pool=shown.pool,
        solution_id=solution["id"],
    ).listed()
    sanctioned(hidden, "suspension")
    ok(
        api.client.post(
            f"/api/v1/solutions/{shown.solution_id}/publish", headers=shown.provider.headers
        )
    )

    response = exported(api, shown.curator, shown.pool, "csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["序号", "企业名称", "统一社会信用代码"]
    assert [line[1] for line in lines[1:]] == [shown.app["provider_name"]]
    line = lines[1]
    assert (line[3], line[4], line[5], line[6]) == (
        "“小快轻准”产品型服务商",
        "常州市",
        "注塑行业",
        "4",
    )
    assert "注塑车间设备联网与数据采集" in line[10]
    assert "设备联网与数据采集" in line[9]

    xlsx = exported(api, shown.curator, shown.pool, "xlsx")
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    sheet_rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert sheet_rows[0][1] == "企业名称"
    assert [r[1] for r in sheet_rows[1:]] == [shown.app["provider_name"]]


def test_export_keeps_formulas_from_running_and_imports_back(api: Api, pool: Pool) -> None:
    table = [row(1, name='=HYPERLINK("http://evil","点我")公司', phone="+86 519 8888 8888")]
    ok(pool.upload(csv_bytes(table), dry_run=False))

    content = exported(api, pool.curator, pool.data, "csv").content
    line = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1]
    xlsx = exported(api, pool.curator, pool.data, "xlsx").content
    cells = list(load_workbook(io.BytesIO(xlsx)).worksheets[0].iter_rows(values_only=True))[1]

    assert line[1].startswith("'=")
    assert line[12] == "'+86 519 8888 8888"
    assert str(cells[1]).startswith("'=")
    other = Pool(api)
    back = other.report(content)
    assert back["errors"] == []
    assert back["existing_providers"] == 1


def test_export_is_for_the_pools_curators(api: Api, pool: Pool) -> None:
    assert exported(api, api.curator(jurisdiction="440000"), pool.data, "csv").status_code == 403
    assert exported(api, api.provider(), pool.data, "xlsx").status_code == 403
    assert exported(api, pool.curator, pool.data, "pdf").status_code == 422


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """A scratch database the CLI (its own connections) and an app both use, committed."""
    url, drop = scratch_database_url(tmp_path, "pool_cli")
    runner.upgrade(url)
    monkeypatch.setenv("MARKET_DATABASE_URL", url)
    get_settings.cache_clear()
    db = Database.from_url(url)
    try:
        with TestClient(create_app(Settings(env="test", database_url=url), db=db)) as client:
            yield Api(client=client, db=db)
    finally:
        get_settings.cache_clear()
        db.engine.dispose()
        drop()


def test_cli_imports_all_or_nothing_exports_and_runs_the_scheduled_duties(
    committed: Api, tmp_path: Path
) -> None:
    pool = Pool(committed)
    good = tmp_path / "名单.csv"
    good.write_bytes(csv_bytes(rows(3), encoding="gbk"))
    bad_table = rows(3)
    bad_table[1][2] = "bad"
    bad = tmp_path / "坏名单.xlsx"
    bad.write_bytes(xlsx_bytes(bad_table))
    invoke = CliRunner().invoke
    pool_id = pool.data["id"]

    failed = invoke(cli, ["pool", "import", str(bad), "--pool", pool_id])
    dry = invoke(cli, ["pool", "import", str(good), "--pool", pool_id, "--dry-run"])
    assert counts(committed)[1] == 0
    done = invoke(cli, ["pool", "import", str(good), "--pool", pool_id])
    out = tmp_path / "export.xlsx"
    export = invoke(cli, ["pool", "export", pool_id, "--format", "xlsx", "--out", str(out)])
    scheduled = invoke(cli, ["pool", "expire"])
    unknown = invoke(cli, ["pool", "import", str(good), "--pool", str(uuid.uuid4())])

    assert failed.exit_code == 1, failed.output
    assert "nothing imported" in failed.output
    assert "credit_code" in failed.output
    assert dry.exit_code == 0, dry.output
    assert "dry run passed" in dry.output
    assert done.exit_code == 0, done.output
    assert counts(committed)[1] == 3
    assert export.exit_code == 0, export.output
    assert len(list(load_workbook(out).worksheets[0].iter_rows())) == 4
    assert scheduled.exit_code == 0, scheduled.output
    assert "listed 0, expired 0" in scheduled.output
    assert unknown.exit_code == 2
