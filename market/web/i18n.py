"""Translations for the web pages: Babel catalogs compiled in memory, one per locale.

The ``.po`` files are the only translation source in the repository. They are parsed and
compiled to gettext form when the process starts, so nobody has to remember a ``compile``
step and a stale ``.mo`` file can never disagree with the ``.po`` beside it. The message ids
are the English source strings: the English catalog only exists so that English is a locale
like any other (and a translator can adjust wording without touching templates).
"""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

LOCALES: tuple[str, ...] = ("zh_CN", "en")
# The people using this are Chinese factory owners and bureau staff: Chinese unless asked.
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "lang"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

# What the <html lang> attribute and screen readers expect for each catalog locale.
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def catalog_paths(locale: str) -> list[Path]:
    """Every ``.po`` file of a locale: ``messages.po`` first, then one file per page area.

    Page areas (public, provider, SME, curator ...) keep their strings in files of their own,
    so translators and reviewers see one area at a time; together they form one catalog.
    """
    folder = TRANSLATIONS_DIR / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda path: (path.name != "messages.po", path.name))


@functools.cache
def translations(locale: str) -> Translations:
    """The compiled catalog for ``locale`` (cached for the life of the process)."""
    if locale not in LOCALES:
        raise KeyError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")
    merged: Catalog | None = None
    for path in catalog_paths(locale):
        with path.open("rb") as handle:
            part = read_po(handle, locale=locale)
        if merged is None:
            merged = part
            continue
        for message in part:
            if not message.id:
                continue  # the header
            if message.id in merged:
                raise ValueError(f"{path}: {message.id!r} is already translated in another file")
            merged[message.id] = message
    if merged is None:
        raise FileNotFoundError(f"no translation files for {locale} in {TRANSLATIONS_DIR}")
    compiled = BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return Translations(fp=compiled)


def load_all() -> None:
    """Compile every catalog now, so a broken ``.po`` stops start-up instead of a page."""
    for locale in LOCALES:
        translations(locale)


def normalise_locale(value: str | None) -> str | None:
    """Accept the spellings people and browsers use ("zh", "zh-CN", "en-GB") for our locales."""
    if not value:
        return None
    folded = value.strip().replace("-", "_").lower()
    if folded.startswith("zh"):
        return "zh_CN"
    if folded.startswith("en"):
        return "en"
    return None


def locale_of(request: Request) -> str:
    """The cookie set by the language switch decides; without one, Chinese.

    The browser's Accept-Language is deliberately not consulted: bureau staff often use
    English-language office machines yet expect the Chinese service, and a page that changes
    language by machine would confuse colleagues comparing screens.
    """
    return normalise_locale(request.cookies.get(LANG_COOKIE)) or DEFAULT_LOCALE


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message
