"""The Jinja2 environments for the web pages and the display helpers templates use.

There is one environment per locale. Jinja's i18n extension installs gettext on an
environment, not on a render call, so sharing one environment between requests in different
languages would let a thread switch the language under another thread's feet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from catalog.taxonomy import describe_industry, region, vocabulary
from catalog.taxonomy.regions import cities_of
from catalog.taxonomy.registry import load_data_file
from market.web.i18n import HTML_LANG, LOCALES, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Every time is stored in UTC and shown as the people using the service read clocks.
DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")


def yuan(fen: int | None) -> str:
    """Integer fen as 元 with thousands separators; fen are shown only when there are some."""
    if fen is None:
        return ""
    amount = Decimal(fen) / 100
    if fen % 100 == 0:
        return f"{int(amount):,}"
    return f"{amount:,.2f}"


def yuan_input(fen: int | None) -> str:
    """Fen as an editable 元 amount: no separators, so the value parses back unchanged."""
    if fen is None:
        return ""
    return str(fen // 100) if fen % 100 == 0 else f"{Decimal(fen) / 100:.2f}"


def local_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%d %H:%M")


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(DISPLAY_ZONE).date()
    return value.isoformat()


def today_local() -> date:
    return datetime.now(DISPLAY_ZONE).date()


def number(value: float | int | None) -> str:
    """Outcome figures: whole numbers without a trailing .0, others as entered."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Option:
    """One choice in a form control or a facet, labelled in the page's language."""

    value: str
    label: str
    hint: str = ""


@dataclass(frozen=True)
class OptionGroup:
    label: str
    options: tuple[Option, ...]


class Labels:
    """Taxonomy names and form choices in one language."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.zh = locale == "zh_CN"

    def _name(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def term(self, vocab: str, code: str | None) -> str:
        """The name of a coded value; an unknown code is shown as it is rather than hidden."""
        if not code:
            return ""
        found = vocabulary(vocab).get(code)
        return self._name(found.zh, found.en) if found else code

    def region(self, code: str | None) -> str:
        if not code:
            return ""
        found = region(code)
        return self._name(found.zh, found.en) if found else code

    def industry(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            found = describe_industry(code)
        except ValueError:
            found = None
        if found is None:
            return code
        return f"{code} {self._name(found['zh'], found['en'])}"

    def scene_level(self, scene: str, level: int) -> str:
        """What reaching ``level`` in a scene means, as the MIIT evaluation describes it."""
        found = vocabulary("scenes").get(scene)
        for item in found.extra.get("levels", ()) if found else ():
            if int(item["level"]) == level:
                return self._name(str(item["zh"]), str(item["en"]))
        return ""

    def options(self, vocab: str) -> list[Option]:
        return [Option(t.id, self._name(t.zh, t.en)) for t in vocabulary(vocab)]

    def industry_options(self, extra: list[str] | tuple[str, ...] = ()) -> list[Option]:
        """The manufacturing divisions, plus any finer code an item already carries."""
        divisions = [
            Option(t.id, f"{t.id} {self._name(t.zh, t.en)}") for t in vocabulary("industries")
        ]
        known = {o.value for o in divisions}
        finer = [Option(code, self.industry(code)) for code in extra if code not in known]
        return divisions + finer

    def region_groups(self) -> list[OptionGroup]:
        """Provinces, each followed by the cities shipped for it, for grouped selects."""
        groups = []
        for term in vocabulary("regions"):
            if term.extra.get("level") != "province":
                continue
            province = Option(term.id, self._name(term.zh, term.en))
            cities = tuple(Option(c.code, self._name(c.zh, c.en)) for c in cities_of(term.id))
            groups.append(OptionGroup(province.label, (province, *cities)))
        return groups

    def size_sector_options(self) -> list[Option]:
        """The sectors of the SME size rules, named as the rules file names them."""
        return [
            Option(str(item["id"]), self._name(str(item["zh"]), str(item["en"])))
            for item in load_data_file("size_rules")["items"]
        ]

    def region_split(self) -> tuple[list[OptionGroup], list[Option]]:
        """Provinces we ship cities for (pilot provinces) apart from the rest, for long lists."""
        groups = self.region_groups()
        with_cities = [g for g in groups if len(g.options) > 1]
        singles = [g.options[0] for g in groups if len(g.options) == 1]
        return with_cities, singles

    def scene_groups(self) -> list[tuple[str, list[Any]]]:
        """Scenes grouped as the MIIT evaluation groups them, with their level descriptions."""
        groups: dict[str, tuple[str, list[Any]]] = {}
        for term in vocabulary("scenes"):
            group = term.extra.get("group") or {}
            key = str(group.get("id", ""))
            label = self._name(str(group.get("zh", "")), str(group.get("en", "")))
            levels = [
                Option(str(lv["level"]), self._name(str(lv["zh"]), str(lv["en"])))
                for lv in term.extra.get("levels", ())
            ]
            groups.setdefault(key, (label, []))[1].append(
                {"id": term.id, "label": self._name(term.zh, term.en), "levels": levels}
            )
        return list(groups.values())

    def protocol_options(self) -> list[Option]:
        """Protocols with children indented under their family by a hint, in file order."""
        return [
            Option(t.id, self._name(t.zh, t.en), hint="child" if t.parent else "")
            for t in vocabulary("protocols")
        ]


def page_url(path: str, params: dict[str, Any], key: str = "page", value: Any = None) -> str:
    """The current list URL with one query parameter changed (pagination, facet links)."""
    merged = {**params, key: value}
    query = urlencode([(k, v) for k, v in merged.items() if v not in (None, "", False)], doseq=True)
    return f"{path}?{query}" if query else path


def page_numbers(page: int, pages: int, *, around: int = 2) -> list[int | None]:
    """Page links to show: first, last and a window around the current one; None is a gap."""
    wanted = {1, pages, *range(page - around, page + around + 1)}
    shown = sorted(n for n in wanted if 1 <= n <= pages)
    out: list[int | None] = []
    previous = 0
    for n in shown:
        if previous and n - previous > 1:
            out.append(None)
        out.append(n)
        previous = n
    return out


def _make_environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True),
        # A misspelt variable fails the test suite instead of quietly printing nothing.
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # newstyle gettext escapes interpolated values and formats with keyword arguments.
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    labels = Labels(locale)
    env.globals.update(
        labels=labels,
        locale=locale,
        html_lang=HTML_LANG[locale],
        page_url=page_url,
        page_numbers=page_numbers,
        today=today_local,
    )
    env.filters.update(
        yuan=yuan,
        yuan_input=yuan_input,
        local_datetime=local_datetime,
        local_date=local_date,
        number=number,
    )
    return env


@functools.cache
def environment(locale: str) -> Environment:
    return _make_environment(locale)


def load_all() -> None:
    for locale in LOCALES:
        environment(locale)


def render(locale: str, template: str, context: dict[str, Any]) -> str:
    return environment(locale).get_template(template).render(context)
