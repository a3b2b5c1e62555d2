"""Reading a pool list: the file (XLSX, or CSV in UTF-8 or GBK) into rows, the header row found
and its columns mapped to fields by their spellings, and cells turned into text and dates."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from catalog.taxonomy import (
    vocabulary,
)

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


def lookup_key(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).lower()
    return re.sub(r"[\s\"'“”‘’「」《》]", "", text)


def lookup(name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    table_: dict[str, str] = {}
    for term in vocabulary(name):
        for spelling in (term.id, term.zh, term.en, *term.synonyms):
            table_.setdefault(lookup_key(spelling), term.id)
        if term.zh.endswith("服务商"):
            table_.setdefault(lookup_key(term.zh.removesuffix("服务商")), term.id)
            table_.setdefault(lookup_key(term.zh.removesuffix("型服务商")), term.id)
    for spelling, term_id in (extra or {}).items():
        table_.setdefault(lookup_key(spelling), term_id)
    return table_


def regions_by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for term in vocabulary("regions"):
        names.setdefault(lookup_key(term.zh), term.id)
        short = re.sub(r"(省|市|自治区|特别行政区|维吾尔|壮族|回族)+$", "", term.zh)
        names.setdefault(lookup_key(short), term.id)
    return names


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel hands whole numbers over as floats
    text = unicodedata.normalize("NFKC", str(value)).strip()
    # The apostrophe exports put before "+86…" or "=…" so spreadsheets keep them as text.
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def cell_date(value: Any) -> datetime | None:
    """A date cell or text (2024-05-01, 2024/5/1, 2024年5月1日) at midnight Beijing time."""
    if value in (None, ""):
        return None
    day: date
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        match = DATE_TEXT.match(cell_text(value))
        if match is None:
            raise ValueError("write dates as 2024-05-01")
        day = date(*(int(part) for part in match.groups()))
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)
