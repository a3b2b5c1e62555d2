"""Bulk import of an existing pool list (入库名单) from an XLSX or CSV file.

Agencies keep their current pools in spreadsheets. The import reads one, maps its columns by
their headers (Chinese or English, with common variants), validates every row against the
taxonomy and the database, and either reports (dry run, or any row failed) or writes the whole
list in one transaction: a provider organisation and profile for each firm not yet on the
platform, and a listed membership in the pool for every row. It is all or nothing, so a list
is never half imported, and a failed run leaves the database exactly as it was.

Rows are written with SQLAlchemy Core ``insert()`` executemany: at 10,000 rows the ORM's
per-object bookkeeping would cost more than the database work.
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Boolean, String, Uuid, column, insert, select, table
from sqlalchemy.orm import Session

from catalog.pools import service as pools
from catalog.pools.errors import ImportRejected
from catalog.pools.models import (
    ACTIVE_STATES,
    Pool,
    PoolApplication,
    PoolApplicationSolution,
    add_months,
)
from catalog.pools.schemas import ImportIssueOut, ImportReportOut
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet
from catalog.taxonomy import (
    CreditCodeError,
    is_known_region,
    normalise_credit_code,
    region,
    vocabulary,
)
from core import audit
from core.audit import SYSTEM_ROLE, AuditRecord
from core.database import UTCDateTime, new_id, utcnow
from core.deps import Principal
from core.outbox import OutboxEvent

# Field → header spellings seen in pool lists, compared after ``_header_key``.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": (
        "企业名称",
        "单位名称",
        "公司名称",
        "服务商名称",
        "机构名称",
        "申报单位",
        "名称",
        "name",
        "company",
        "companyname",
        "legalname",
        "organisation",
        "organization",
    ),
    "credit_code": (
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "统一代码",
        "creditcode",
        "uscc",
        "unifiedsocialcreditcode",
    ),
    "provider_type": ("服务商类型", "服务商类别", "企业类型", "类型", "providertype", "type"),
    "category": ("入库类别", "入库类型", "所属类别", "类别", "细分领域", "分类", "category"),
    "region": (
        "所在地区",
        "所在地",
        "地区",
        "区域",
        "注册地",
        "所属地区",
        "行政区划",
        "行政区划代码",
        "region",
        "regioncode",
        "city",
    ),
    "capabilities": (
        "服务能力",
        "服务领域",
        "能力",
        "服务方向",
        "主要服务内容",
        "capabilities",
        "capability",
        "services",
    ),
    "contact_name": ("联系人", "联系人姓名", "contact", "contactname", "contactperson"),
    "contact_phone": ("联系电话", "电话", "手机", "手机号", "联系方式", "phone", "tel", "mobile"),
    "contact_email": ("电子邮箱", "邮箱", "电子邮件", "email", "mail", "contactemail"),
    "website": ("网址", "网站", "官网", "website", "url"),
    "description": ("企业简介", "简介", "description"),
    "star_rating": ("星级", "评星", "星级评定", "stars", "starrating", "rating"),
    "listed_since": ("入库时间", "入库日期", "入选时间", "listedsince", "listedat"),
    "valid_until": ("有效期至", "有效期", "有效期截止", "validuntil", "expires"),
}
REQUIRED = ("name", "credit_code", "region")
# Headers that carry nothing to import; not reported as unknown.
IGNORED = frozenset(
    {"序号", "编号", "no", "number", "#", "备注", "remark", "remarks", "note", "已发布方案"}
)
# A list of 100,000 rows is a few MB; anything far larger is not a pool list.
MAX_FILE_BYTES = 50 * 1024 * 1024
HEADER_SEARCH_ROWS = 10
MAX_ROWS = 100_000
CHUNK = 1000
SPLIT = re.compile(r"[,，、;；/|\n]+")
PHONE = re.compile(r"^[0-9+\-() ]{5,40}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
# Short names lists use for provider types, beside the vocabulary's own names.
TYPE_ALIASES = {
    "综合集成": "integrator",
    "集成商": "integrator",
    "产品型": "product",
    "小快轻准": "product",
    "链主": "chain_leader",
    "链主型": "chain_leader",
    "链主企业": "chain_leader",
    "牵引单位": "lead_unit",
    "生态伙伴": "partner",
    "平台商": "platform",
    "平台型": "platform",
    "平台": "platform",
}

# The organisation row belongs to market.accounts, which the catalog may not import.
_organisations = table(
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
# Lists give calendar days as seen in China (no daylight saving there).
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")

Progress = Callable[[str, int, int], None]


class ImportFileError(ValueError):
    """The file cannot be read as a table at all (not XLSX/CSV, broken, unknown encoding)."""


# --- reading the file --------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """Text of a CSV: UTF-8 with or without BOM, UTF-16 with BOM, else GBK (as GB 18030)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB 18030 is a superset of GBK and GB 2312, which Excel on Chinese Windows writes.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The CSV is neither UTF-8 nor GBK; save it from Excel as 'CSV UTF-8' and try again"
        ) from None


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = _decode(data)
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise ImportFileError(f"The CSV is malformed: {exc}") from None


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook  # imported here: only imports and exports need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(f"The XLSX file is damaged or not a workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ImportFileError(f"The XLSX file cannot be read ({exc})") from None
    finally:
        book.close()


def read_table(filename: str, data: bytes) -> list[list[Any]]:
    """Every row of the file's first sheet, by content: an XLSX is a ZIP, anything else CSV."""
    if not data:
        raise ImportFileError("The file is empty")
    lower = filename.lower()
    if data.startswith(b"PK\x03\x04"):
        return _xlsx_rows(data)
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise ImportFileError(
            "Old Excel files (.xls) are not supported; save the list as .xlsx or CSV"
        )
    if lower.endswith(".xlsx"):
        raise ImportFileError("The file is named .xlsx but is not an XLSX workbook")
    return _csv_rows(data)


# --- mapping columns ---------------------------------------------------------------------------


def _header_key(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).lower()
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", text)  # "(必填)", "（万元）"
    return re.sub(r"[\s*:：_\-./]", "", text)


_HEADER_INDEX = {_header_key(h): name for name, spellings in HEADERS.items() for h in spellings}


def map_header(row: list[Any]) -> tuple[dict[str, int], list[str]]:
    """Field → column index for a header row, and the headers that mean nothing to us."""
    mapping: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(row):
        key = _header_key(cell)
        if not key:
            continue
        name = _HEADER_INDEX.get(key)
        if name is None:
            if key not in IGNORED:
                unknown.append(str(cell).strip())
        elif name not in mapping:
            mapping[name] = index
    return mapping, unknown


def find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int], list[str]]:
    """The header is the first of the top rows naming two fields or more (lists often start
    with a title row such as "常州市工业互联网服务资源池入库名单")."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping, unknown = map_header(row)
        if len(mapping) >= 2:
            return index, mapping, unknown
    raise ImportFileError(
        "No header row found in the first rows; name the columns, e.g. 企业名称, "
        "统一社会信用代码, 所在地区, 服务商类型, 服务能力, 联系人, 联系电话"
    )


# --- vocabularies as lookup tables -------------------------------------------------------------


def _key(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).lower()
    return re.sub(r"[\s\"'“”‘’「」《》]", "", text)


def _lookup(name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    table_: dict[str, str] = {}
    for term in vocabulary(name):
        for spelling in (term.id, term.zh, term.en, *term.synonyms):
            table_.setdefault(_key(spelling), term.id)
        if term.zh.endswith("服务商"):
            table_.setdefault(_key(term.zh.removesuffix("服务商")), term.id)
            table_.setdefault(_key(term.zh.removesuffix("型服务商")), term.id)
    for spelling, term_id in (extra or {}).items():
        table_.setdefault(_key(spelling), term_id)
    return table_


def _regions_by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for term in vocabulary("regions"):
        names.setdefault(_key(term.zh), term.id)
        short = re.sub(r"(省|市|自治区|特别行政区|维吾尔|壮族|回族)+$", "", term.zh)
        names.setdefault(_key(short), term.id)
    return names


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel hands whole numbers over as floats
    text = unicodedata.normalize("NFKC", str(value)).strip()
    # The apostrophe exports put before "+86…" or "=…" so spreadsheets keep them as text.
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def _date(value: Any) -> datetime | None:
    """A date cell or text (2024-05-01, 2024/5/1, 2024年5月1日) at midnight Beijing time."""
    if value in (None, ""):
        return None
    day: date
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        match = DATE_TEXT.match(_text(value))
        if match is None:
            raise ValueError("write dates as 2024-05-01")
        day = date(*(int(part) for part in match.groups()))
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)


class _Validator:
    def __init__(self, pool: Pool, default_category: str | None, report: ImportReport) -> None:
        self.pool = pool
        self.report = report
        self.capabilities = _lookup("capabilities")
        self.types = _lookup("provider_types", TYPE_ALIASES)
        self.regions = _regions_by_name()
        self.categories = {c["id"]: c for c in pool.categories}
        self.category_names = {_key(str(c["name"])): c["id"] for c in pool.categories}
        only = pool.categories[0]["id"] if len(pool.categories) == 1 else None
        self.default_category = default_category or only
        self.now = utcnow()
        self.region_cache: dict[str, str | None] = {}
        self.seen_codes: dict[str, int] = {}
        self.seen_names: dict[str, tuple[int, str]] = {}

    def error(self, row: int, column: str | None, value: Any, message: str) -> None:
        shown = _text(value)[:200] if value is not None else None
        self.report.errors.append(Issue(row, column, shown, message))

    def warn(self, row: int, column: str | None, value: Any, message: str) -> None:
        shown = _text(value)[:200] if value is not None else None
        self.report.warnings.append(Issue(row, column, shown, message))

    def region_of(self, raw: str) -> str | None:
        # A list names a handful of regions thousands of times; look each spelling up once.
        if raw not in self.region_cache:
            self.region_cache[raw] = self._region_of(raw)
        return self.region_cache[raw]

    def _region_of(self, raw: str) -> str | None:
        if raw.isdigit() and len(raw) == 6:
            return raw if is_known_region(raw) else None
        key = _key(raw)
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
        return self.category_names.get(_key(raw))

    def row(self, number: int, cells: dict[str, Any]) -> Row | None:
        errors_before = len(self.report.errors)
        name = _text(cells.get("name"))
        if not name:
            self.error(number, "name", None, "企业名称为空 (the firm's name is missing)")
        elif len(name) > 200:
            self.error(number, "name", name, "名称过长 (at most 200 characters)")
        raw_code = _text(cells.get("credit_code"))
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

        raw_region = _text(cells.get("region"))
        region_code = self.region_of(raw_region) if raw_region else None
        if region_code is None:
            message = "地区缺失" if not raw_region else "未知地区 (unknown region name or code)"
            self.error(number, "region", raw_region or None, message)

        raw_category = _text(cells.get("category"))
        category_id = self.category_of(raw_category)
        category = self.categories.get(category_id or "")
        if category is None:
            known = "、".join(f"{c['name']}({c['id']})" for c in self.pool.categories)
            message = (
                f"未知入库类别；可用: {known}" if raw_category else f"缺少入库类别；可用: {known}"
            )
            self.error(number, "category", raw_category or None, message)

        raw_type = _text(cells.get("provider_type"))
        provider_type = self.types.get(_key(raw_type)) if raw_type else None
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
        for part in SPLIT.split(_text(cells.get("capabilities"))):
            if not part.strip():
                continue
            cap = self.capabilities.get(_key(part))
            if cap is None:
                self.error(
                    number, "capabilities", part, "未知服务能力 (see /taxonomy/capabilities)"
                )
            elif cap not in capabilities:
                capabilities.append(cap)

        phone = _text(cells.get("contact_phone")) or None
        if phone and not PHONE.match(phone):
            self.error(number, "contact_phone", phone, "电话号码格式不正确")
        email = _text(cells.get("contact_email")).lower() or None
        if email and not EMAIL.match(email):
            self.error(number, "contact_email", email, "邮箱格式不正确")
        website = _text(cells.get("website")) or None
        if website and not website.startswith(("http://", "https://")):
            website = f"https://{website}"

        stars: int | None = None
        raw_stars = _text(cells.get("star_rating"))
        if raw_stars:
            digits = raw_stars.count("★") or (int(raw_stars) if raw_stars.isdigit() else 0)
            if 1 <= digits <= 5:
                stars = digits
            else:
                self.error(number, "star_rating", raw_stars, "星级应为 1–5")
        dates: dict[str, datetime | None] = {}
        for column_name in ("listed_since", "valid_until"):
            try:
                dates[column_name] = _date(cells.get(column_name))
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
            contact_name=_text(cells.get("contact_name"))[:100] or None,
            contact_phone=phone,
            contact_email=email,
            website=website[:300] if website else None,
            description=_text(cells.get("description")),
            star_rating=stars,
            listed_since=dates.get("listed_since"),
            valid_until=dates.get("valid_until"),
        )


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
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
    for part in _chunks(codes):
        for pid, code, name in session.execute(
            select(Provider.id, Provider.credit_code, Provider.legal_name).where(
                Provider.credit_code.in_(part)
            )
        ):
            providers[code] = (pid, name)
        o = _organisations.c
        for code, kind in session.execute(
            select(o.credit_code, o.kind).where(o.credit_code.in_(part))
        ):
            orgs[code] = kind
    in_pool: dict[uuid.UUID, str] = {}
    ids = [pid for pid, _ in providers.values()]
    for part in _chunks(ids):
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
    report.columns = {name: _text(rows[header_index][i]) for name, i in mapping.items()}
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
        if any(_text(cell) for cell in row)
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


# --- writing -----------------------------------------------------------------------------------


def _write(
    session: Session,
    *,
    actor: Principal | None,
    pool: Pool,
    filename: str,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    now = utcnow()
    base = {"created_at": now}
    orgs: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    solutions: list[dict[str, Any]] = []
    facets: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for row in report.valid:
        provider_id = row.provider_id
        if provider_id is None:
            org_id, provider_id = new_id(), new_id()
            orgs.append(
                {
                    **base,
                    "id": org_id,
                    "kind": "provider",
                    "name": row.name,
                    "credit_code": row.credit_code,
                    "region_code": row.region,
                    "jurisdiction": None,
                    "is_active": True,
                }
            )
            profiles.append(_profile(row, org_id, provider_id, now))
        else:
            org_id = None  # filled in below for the audit's subject
        application_id = new_id()
        listed_since = row.listed_since or now
        valid_until = row.valid_until or add_months(listed_since, pool.evaluation_period_months)
        if row.capabilities:
            solution_id = new_id()
            solutions.append(_draft_solution(row, provider_id, solution_id, now))
            facets.extend(
                {"solution_id": solution_id, "facet": "capability", "code": cap, "position": i}
                for i, cap in enumerate(row.capabilities)
            )
            links.append({"application_id": application_id, "solution_id": solution_id})
        note = f"导入自 {filename} 第 {row.number} 行"
        apps.append(
            {
                "id": application_id,
                "pool_id": pool.id,
                "provider_id": provider_id,
                "category_id": row.category_id,
                "note": note,
                "declared_at": now,
                "state": "listed",
                "reasons": [],
                "scorecard": None,
                "total_score": None,
                "submitted_at": now,
                "decided_at": now,
                "notice_ends_at": None,
                "listed_since": listed_since,
                "valid_until": valid_until,
                "star_rating": row.star_rating,
                "rated_at": listed_since if row.star_rating else None,
                "change_under_review": False,
                "source": "import",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        audits.append(
            {
                "id": new_id(),
                "at": now,
                "actor_user_id": actor.user_id if actor else None,
                "actor_role": actor.role if actor else SYSTEM_ROLE,
                "action": pools.APPLICATION_AUDIT_PREFIX + "imported",
                "target_type": pools.APPLICATION_TARGET,
                "target_id": str(application_id),
                "scope_id": pool.id,
                "subject_org_id": org_id,
                "reason": note,
                "before": None,
                "after": {
                    "state": "listed",
                    "category_id": row.category_id,
                    "credit_code": row.credit_code,
                    "star_rating": row.star_rating,
                    "valid_until": valid_until.isoformat(),
                },
            }
        )
        payload = {
            "pool_id": str(pool.id),
            "provider_id": str(provider_id),
            "application_id": str(application_id),
            "state": "listed",
        }
        events.append(
            {
                "topic": "pool.membership.changed",
                "payload": payload,
                "created_at": now,
                "available_at": now,
                "attempts": 0,
            }
        )
    _fill_subjects(session, report, audits)
    steps: list[tuple[Any, list[dict[str, Any]]]] = [
        (_organisations, orgs),
        (Provider.__table__, profiles),
        (Solution.__table__, solutions),
        (SolutionFacet.__table__, facets),
        (PoolApplication.__table__, apps),
        (PoolApplicationSolution.__table__, links),
        (AuditRecord.__table__, audits),
        (OutboxEvent.__table__, events),
    ]
    total = sum(len(rows) for _, rows in steps)
    done = 0
    for target, rows in steps:
        for part in _chunks(rows):
            session.execute(insert(target), part)
            done += len(part)
            if progress is not None:
                progress("write", done, total)
    if events:
        # As emit() does for single rows: the app delivers after commit. Every listing is its
        # own pool.membership.changed event (search and matching refresh provider by provider),
        # which for a list of thousands takes minutes; the command line delivers them itself.
        session.info["outbox_pending"] = True


def _fill_subjects(session: Session, report: ImportReport, audits: list[dict[str, Any]]) -> None:
    """Audit rows of firms already on the platform name their existing organisation."""
    existing = [row.provider_id for row in report.valid if row.provider_id is not None]
    orgs: dict[uuid.UUID, uuid.UUID] = {}
    for part in _chunks(existing):
        stmt = select(Provider.id, Provider.org_id).where(Provider.id.in_(part))
        orgs.update((provider_id, org_id) for provider_id, org_id in session.execute(stmt))
    for row, record in zip(report.valid, audits, strict=True):
        if record["subject_org_id"] is None and row.provider_id is not None:
            record["subject_org_id"] = orgs[row.provider_id]


def _profile(row: Row, org_id: uuid.UUID, provider_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "id": provider_id,
        "org_id": org_id,
        "legal_name": row.name,
        "credit_code": row.credit_code,
        "provider_type": row.provider_type,
        "registered_region": row.region,
        "service_regions": [row.region],
        "on_site_regions": [],
        "size_sector": "software_it",
        "employees": None,
        "revenue_wan": None,
        "assets_wan": None,
        "size": None,
        "founded_year": None,
        "policy_tags": [],
        "patents_count": 0,
        "capacity": 5,
        "contact_name": row.contact_name,
        "contact_phone": row.contact_phone,
        "contact_email": row.contact_email,
        "website": row.website,
        "description_zh": row.description,
        "description_en": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _draft_solution(
    row: Row, provider_id: uuid.UUID, solution_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """The listed capabilities, kept as a draft the provider completes and publishes: a
    spreadsheet line is not a solution the public should see as one."""
    return {
        "id": solution_id,
        "provider_id": provider_id,
        "title": f"{row.name[:180]} 服务能力（导入）",
        "summary": "",
        "description": "",
        "typical_delivery_days": None,
        "status": "draft",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "published_at": None,
    }


def import_pool_list(
    session: Session,
    *,
    actor: Principal | None,
    pool_id: uuid.UUID,
    filename: str,
    data: bytes,
    dry_run: bool,
    category_id: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate the list and, unless it is a dry run or any row failed, import it whole.

    ``actor`` is the curator for the upload endpoint and None for the command line (an
    operator on the server); the audit records say which.
    """
    started = time.perf_counter()
    pool = pools.get_pool(session, pool_id, for_update=not dry_run)
    if actor is not None:
        pools.ensure_pool_curator(actor, pool)
    report = validate(
        session,
        pool=pool,
        filename=filename,
        data=data,
        category_id=category_id,
        progress=progress,
    )
    report.dry_run = dry_run
    if not dry_run and not report.errors:
        _write(session, actor=actor, pool=pool, filename=filename, report=report, progress=progress)
        report.imported = True
        audit.record(
            session,
            actor=actor,
            action="pool.imported",
            target_type="pool",
            target_id=pool.id,
            scope_id=pool.id,
            reason=f"导入 {filename}",
            after={
                "rows": report.rows,
                "listed": len(report.valid),
                "new_providers": report.new_providers,
                "existing_providers": report.existing_providers,
            },
        )
    report.seconds = time.perf_counter() - started
    return report


def import_for_curator(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    filename: str,
    data: bytes,
    dry_run: bool,
    category_id: str | None,
) -> ImportReportOut:
    """The upload endpoint's use case: a failed real import is an error carrying the report."""
    report = import_pool_list(
        session,
        actor=principal,
        pool_id=pool_id,
        filename=filename,
        data=data,
        dry_run=dry_run,
        category_id=category_id,
    )
    out = report.out()
    if report.errors and not dry_run:
        raise ImportRejected(
            f"{out.rows_failed} of {out.rows} rows (or the file itself) failed validation; "
            "nothing was imported. Fix the rows listed and import again",
            details=out.model_dump(mode="json"),
        )
    return out


def iter_issues(report: ImportReport) -> Iterable[tuple[str, Issue]]:
    """Errors then warnings, each in row order, for printing."""
    yield from (("error", issue) for issue in report.errors)
    yield from (("warning", issue) for issue in report.warnings)
