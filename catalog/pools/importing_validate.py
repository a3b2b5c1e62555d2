"""Checking a pool list row by row against the taxonomy, the pool and the database, into an
:class:`ImportReport` of valid rows, errors and warnings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Uuid, column, select, table
from sqlalchemy.orm import Session

from catalog.pools import service as pools
from catalog.pools.importing_parse import (
    CHUNK,
    EMAIL,
    HEADERS,
    MAX_ROWS,
    PHONE,
    REQUIRED,
    SPLIT,
    TYPE_ALIASES,
    ImportFileError,
    Progress,
    cell_date,
    cell_text,
    find_header,
    lookup,
    lookup_key,
    read_table,
    regions_by_name,
)
from catalog.pools.models import (
    ACTIVE_STATES,
    Pool,
    PoolApplication,
    add_months,
)
from catalog.pools.schemas import ImportIssueOut, ImportReportOut
from catalog.providers.models import Provider
from catalog.taxonomy import (
    CreditCodeError,
    is_known_region,
    normalise_credit_code,
    region,
)
from core.database import UTCDateTime, utcnow

# The organisation row belongs to market.accounts, which the catalog may not import.
ORGANISATIONS = table(
    "organisations",
    column("id", Uuid()),
    column("kind", String()),
    column("name", String()),
    column("credit_code", String()),
    column("region_code", String()),
    column("jurisdiction", String()),
    column("is_active", Boolean()),
    column("created_at", UTCDateTime()),
)


# --- validating rows ---------------------------------------------------------------------------


@dataclass
class Issue:
    row: int
    column: str | None
    value: str | None
    message: str


@dataclass
class Row:
    number: int
    name: str
    credit_code: str
    provider_type: str
    region: str
    category_id: str
    capabilities: list[str]
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    website: str | None = None
    description: str = ""
    star_rating: int | None = None
    listed_since: datetime | None = None
    valid_until: datetime | None = None
    provider_id: uuid.UUID | None = None  # set when the firm is on the platform already


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    valid: list[Row] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    new_providers: int = 0
    existing_providers: int = 0
    imported: bool = False
    seconds: float = 0.0

    @property
    def failed_rows(self) -> int:
        return len({issue.row for issue in self.errors})

    def out(self) -> ImportReportOut:
        def issues(items: list[Issue]) -> list[ImportIssueOut]:
            return [ImportIssueOut(**vars(i)) for i in items]

        return ImportReportOut(
            dry_run=self.dry_run,
            imported=self.imported,
            rows=self.rows,
            rows_ok=self.rows - self.failed_rows,
            rows_failed=self.failed_rows,
            columns=self.columns,
            new_providers=self.new_providers,
            existing_providers=self.existing_providers,
            listed=len(self.valid) if self.imported else 0,
            errors=issues(self.errors),
            warnings=issues(self.warnings),
            seconds=round(self.seconds, 3),
        )


class _Validator:
    def __init__(self, pool: Pool, default_category: str | None, report: ImportReport) -> None:
        self.pool = pool
        self.report = report
        self.capabilities = lookup("capabilities")
        self.types = lookup("provider_types", TYPE_ALIASES)
        self.regions = regions_by_name()
        self.categories = {c["id"]: c for c in pool.categories}
        self.category_names = {lookup_key(str(c["name"])): c["id"] for c in pool.categories}
        only = pool.categories[0]["id"] if len(pool.categories) == 1 else None
        self.default_category = default_category or only
        self.now = utcnow()
        self.region_cache: dict[str, str | None] = {}
        self.seen_codes: dict[str, int] = {}
        self.seen_names: dict[str, tuple[int, str]] = {}

    def error(self, row: int, column: str | None, value: Any, message: str) -> None:
        shown = cell_text(value)[:200] if value is not None else None
        self.report.errors.append(Issue(row, column, shown, message))

    def warn(self, row: int, column: str | None, value: Any, message: str) -> None:
        shown = cell_text(value)[:200] if value is not None else None
        self.report.warnings.append(Issue(row, column, shown, message))

    def region_of(self, raw: str) -> str | None:
        # A list names a handful of regions thousands of times; look each spelling up once.
        if raw not in self.region_cache:
            self.region_cache[raw] = self._region_of(raw)
        return self.region_cache[raw]

    def _region_of(self, raw: str) -> str | None:
        if raw.isdigit() and len(raw) == 6:
            return raw if is_known_region(raw) else None
        key = lookup_key(raw)
        if key in self.regions:
            return self.regions[key]
        # "江苏省常州市": the most specific known name inside it wins.
        found = [code for name, code in self.regions.items() if len(name) >= 2 and name in key]
        cities = [code for code in found if (r := region(code)) and r.level == "city"]
        candidates = cities or found
        return candidates[0] if candidates else None

    def category_of(self, raw: str) -> str | None:
        if not raw:
            return self.default_category
        if raw in self.categories:
            return raw
        return self.category_names.get(lookup_key(raw))

    def row(self, number: int, cells: dict[str, Any]) -> Row | None:
        errors_before = len(self.report.errors)
        name = cell_text(cells.get("name"))
        if not name:
            self.error(number, "name", None, "企业名称为空 (the firm's name is missing)")
        elif len(name) > 200:
            self.error(number, "name", name, "名称过长 (at most 200 characters)")
        raw_code = cell_text(cells.get("credit_code"))
        code = ""
        try:
            code = normalise_credit_code(raw_code)
        except CreditCodeError as exc:
            self.error(number, "credit_code", raw_code, f"统一社会信用代码无效: {exc}")
        if code:
            first = self.seen_codes.setdefault(code, number)
            if first != number:
                self.error(
                    number, "credit_code", code, f"与第 {first} 行重复 (duplicate of row {first})"
                )
        if name and code:
            # One firm under two codes is likely a typo in one of them; two firms may share a
            # name in different places, so it is a warning, not an error.
            first_row, first_code = self.seen_names.setdefault(name, (number, code))
            if first_code != code:
                self.warn(number, "name", name, f"名称与第 {first_row} 行相同而代码不同")

        raw_region = cell_text(cells.get("region"))
        region_code = self.region_of(raw_region) if raw_region else None
        if region_code is None:
            message = "地区缺失" if not raw_region else "未知地区 (unknown region name or code)"
            self.error(number, "region", raw_region or None, message)

        raw_category = cell_text(cells.get("category"))
        category_id = self.category_of(raw_category)
        category = self.categories.get(category_id or "")
        if category is None:
            known = "、".join(f"{c['name']}({c['id']})" for c in self.pool.categories)
            message = (
                f"未知入库类别；可用: {known}" if raw_category else f"缺少入库类别；可用: {known}"
            )
            self.error(number, "category", raw_category or None, message)

        raw_type = cell_text(cells.get("provider_type"))
        provider_type = self.types.get(lookup_key(raw_type)) if raw_type else None
        allowed = list((category or {}).get("provider_types") or [])
        if not raw_type and len(allowed) == 1:
            provider_type = allowed[0]
        if provider_type is None:
            message = "未知服务商类型" if raw_type else "缺少服务商类型 (provider type missing)"
            self.error(number, "provider_type", raw_type or None, message)
        elif category is not None and allowed and provider_type not in allowed:
            self.error(
                number,
                "provider_type",
                raw_type,
                f"类别 {category['name']} 只接受 {', '.join(allowed)} 类型",
            )

        capabilities: list[str] = []
        for part in SPLIT.split(cell_text(cells.get("capabilities"))):
            if not part.strip():
                continue
            cap = self.capabilities.get(lookup_key(part))
            if cap is None:
                self.error(
                    number, "capabilities", part, "未知服务能力 (see /taxonomy/capabilities)"
                )
            elif cap not in capabilities:
                capabilities.append(cap)

        phone = cell_text(cells.get("contact_phone")) or None
        if phone and not PHONE.match(phone):
            self.error(number, "contact_phone", phone, "电话号码格式不正确")
        email = cell_text(cells.get("contact_email")).lower() or None
        if email and not EMAIL.match(email):
            self.error(number, "contact_email", email, "邮箱格式不正确")
        website = cell_text(cells.get("website")) or None
        if website and not website.startswith(("http://", "https://")):
            website = f"https://{website}"

        stars: int | None = None
        raw_stars = cell_text(cells.get("star_rating"))
        if raw_stars:
            digits = raw_stars.count("★") or (int(raw_stars) if raw_stars.isdigit() else 0)
            if 1 <= digits <= 5:
                stars = digits
            else:
                self.error(number, "star_rating", raw_stars, "星级应为 1–5")
        dates: dict[str, datetime | None] = {}
        for column_name in ("listed_since", "valid_until"):
            try:
                dates[column_name] = cell_date(cells.get(column_name))
            except ValueError as exc:
                self.error(number, column_name, cells.get(column_name), f"日期无效: {exc}")
        if len(self.report.errors) > errors_before:
            return None
        listed_since = dates.get("listed_since") or self.now
        valid_until = dates.get("valid_until") or add_months(
            listed_since, self.pool.evaluation_period_months
        )
        if valid_until <= self.now:
            self.warn(
                number,
                "valid_until",
                valid_until.date().isoformat(),
                "有效期已过：入库后下次定时任务时转为待复审 (expires at the next scheduled run)",
            )
        # Each was checked above; an error about it would have returned already.
        assert provider_type is not None
        assert region_code is not None
        assert category_id is not None
        return Row(
            number=number,
            name=name,
            credit_code=code,
            provider_type=provider_type,
            region=region_code,
            category_id=category_id,
            capabilities=capabilities,
            contact_name=cell_text(cells.get("contact_name"))[:100] or None,
            contact_phone=phone,
            contact_email=email,
            website=website[:300] if website else None,
            description=cell_text(cells.get("description")),
            star_rating=stars,
            listed_since=dates.get("listed_since"),
            valid_until=dates.get("valid_until"),
        )


def chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _against_database(session: Session, pool: Pool, validator: _Validator) -> None:
    """Firms already on the platform: reuse provider profiles; refuse duplicates in this pool
    and credit codes held by organisations that are not providers."""
    report = validator.report
    by_code = {row.credit_code: row for row in report.valid}
    codes = list(by_code)
    providers: dict[str, tuple[uuid.UUID, str]] = {}
    orgs: dict[str, str] = {}
    for part in chunks(codes):
        for pid, code, name in session.execute(
            select(Provider.id, Provider.credit_code, Provider.legal_name).where(
                Provider.credit_code.in_(part)
            )
        ):
            providers[code] = (pid, name)
        o = ORGANISATIONS.c
        for code, kind in session.execute(
            select(o.credit_code, o.kind).where(o.credit_code.in_(part))
        ):
            orgs[code] = kind
    in_pool: dict[uuid.UUID, str] = {}
    ids = [pid for pid, _ in providers.values()]
    for part in chunks(ids):
        for pid, state in session.execute(
            select(PoolApplication.provider_id, PoolApplication.state).where(
                PoolApplication.pool_id == pool.id,
                PoolApplication.provider_id.in_(part),
                PoolApplication.state.in_(ACTIVE_STATES),
            )
        ):
            in_pool[pid] = state
    keep: list[Row] = []
    for row in report.valid:
        known = providers.get(row.credit_code)
        if known is None and row.credit_code in orgs:
            kind = orgs[row.credit_code]
            validator.error(
                row.number,
                "credit_code",
                row.credit_code,
                f"该代码已被平台上的{kind}组织使用 (registered as a {kind} organisation)",
            )
            continue
        if known is not None:
            pid, existing_name = known
            if pid in in_pool:
                validator.error(
                    row.number,
                    "credit_code",
                    row.credit_code,
                    f"已在本资源池中 (already in this pool: {in_pool[pid]})",
                )
                continue
            row.provider_id = pid
            message = "已在平台注册，按现有档案入库 (on the platform already; profile kept)"
            if existing_name != row.name:
                message += f"；平台名称为 {existing_name}"
            validator.warn(row.number, "credit_code", row.credit_code, message)
        keep.append(row)
    report.valid = keep


def validate(
    session: Session,
    *,
    pool: Pool,
    filename: str,
    data: bytes,
    category_id: str | None,
    progress: Progress | None = None,
) -> ImportReport:
    """Read and check the file; the report lists every problem with its row number."""
    report = ImportReport(dry_run=True)
    if category_id is not None and pool.category(category_id) is None:
        ids = ", ".join(c["id"] for c in pool.categories)
        report.errors.append(Issue(0, "category", category_id, f"本池没有该类别；可用: {ids}"))
        return report
    try:
        rows = read_table(filename, data)
        header_index, mapping, unknown = find_header(rows)
    except ImportFileError as exc:
        report.errors.append(Issue(0, None, None, str(exc)))
        return report
    header_row = header_index + 1
    report.columns = {name: cell_text(rows[header_index][i]) for name, i in mapping.items()}
    for name in unknown:
        report.warnings.append(Issue(header_row, None, name, "未识别的列，已忽略 (ignored)"))
    missing = [name for name in REQUIRED if name not in mapping]
    if missing:
        for name in missing:
            spellings = "、".join(HEADERS[name][:3])
            report.errors.append(Issue(header_row, name, None, f"缺少必需的列: {spellings}"))
        return report
    body = [
        (header_row + offset + 1, row)
        for offset, row in enumerate(rows[header_index + 1 :])
        if any(cell_text(cell) for cell in row)
    ]
    if not body:
        report.errors.append(Issue(header_row, None, None, "表中没有数据行 (no data rows)"))
        return report
    if len(body) > MAX_ROWS:
        message = f"一次最多导入 {MAX_ROWS} 行 (split the list)"
        report.errors.append(Issue(0, None, None, message))
        return report
    report.rows = len(body)
    validator = _Validator(pool, category_id, report)
    for done, (number, cells) in enumerate(body, start=1):
        values = {name: cells[i] if i < len(cells) else None for name, i in mapping.items()}
        row = validator.row(number, values)
        if row is not None:
            report.valid.append(row)
        if progress is not None and (done % CHUNK == 0 or done == len(body)):
            progress("validate", done, len(body))
    _against_database(session, pool, validator)
    _check_quotas(pool, validator, session)
    report.errors.sort(key=lambda issue: issue.row)
    report.warnings.sort(key=lambda issue: issue.row)
    report.existing_providers = sum(1 for row in report.valid if row.provider_id is not None)
    report.new_providers = len(report.valid) - report.existing_providers
    return report


def _check_quotas(pool: Pool, validator: _Validator, session: Session) -> None:
    """Importing an existing list records decisions already made; a category over its quota
    is reported, not refused."""
    counts = pools.listed_counts(session, [pool.id])
    adding: dict[str, int] = {}
    for row in validator.report.valid:
        adding[row.category_id] = adding.get(row.category_id, 0) + 1
    for category in pool.categories:
        quota = category.get("quota")
        total = counts.get((pool.id, category["id"]), 0) + adding.get(category["id"], 0)
        if quota is not None and total > quota:
            validator.warn(
                0, "category", category["id"], f"导入后该类别 {total} 家，超过名额 {quota}"
            )
