"""The language of a page a person reads: Bahasa Indonesia by default, English on request.

Messages are written in English in the code (`lang._("Villages")`) and translated through the
gettext catalog `maps/locale/id/LC_MESSAGES/messages.po`; English needs no catalog. The catalog
is compiled in memory when first used, so there is no build step and no binary file in the
repository. After adding or changing a message, run `make messages` (pybabel extract + update)
and translate what it marks; tests/test_map_language.py fails while a message has no translation.
Numbers follow the language's conventions through Babel (`6.134` and `2,5 %` in Indonesian).
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("id", "en")
DEFAULT = "id"


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for translation, translate later"
    """Marks a message for the catalog where it is defined; `Language._` translates it where shown."""
    return message


@dataclass(frozen=True)
class Language:
    code: str
    catalog: gettext.NullTranslations

    def _(self, message: str) -> str:
        return self.catalog.gettext(message)

    def n_(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)

    def number(self, value: float, digits: int = 0) -> str:
        return format_decimal(value, format="#,##0" + ("." + "#" * digits if digits else ""), locale=self.code)

    def percent_number(self, fraction: float) -> str:
        """A share (0–1) as a percentage without the sign: whole numbers, one decimal below 10 and
        above 99 ("2,5", "99,5"); never rounded to 0 or 100 when it is not exactly that."""
        value = fraction * 100
        digits = 1 if value < 10 or value > 99 else 0
        shown = round(value, digits)
        if value > 0 and shown == 0:
            return "< " + self.number(0.1, 1)
        if value < 100 and shown >= 100:
            shown = 99.9
        return self.number(shown, digits)

    def percent(self, fraction: float) -> str:
        return f"{self.percent_number(fraction)} %"


@cache
def language(code: str = DEFAULT) -> Language:
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; use one of {', '.join(LANGUAGES)}")
    if code == "en":
        return Language(code, gettext.NullTranslations())
    with open(LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as po:
        catalog = read_po(po, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Language(code, gettext.GNUTranslations(compiled))


def choose(asked: str | None, accept_language: str | None) -> str | None:
    """The language of `?lang=` (None when it is not one we have), else the browser's, else the default."""
    if asked is not None:
        return asked if asked in LANGUAGES else None
    preferred = [part.split(";")[0].strip().replace("-", "_") for part in (accept_language or "").split(",")]
    return negotiate_locale([p for p in preferred if p], LANGUAGES, sep="_") or DEFAULT
