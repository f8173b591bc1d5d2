"""The language of map pages: a complete Indonesian catalog, numbers in each language's style,
real region names, and the language chosen from ?lang= or the browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from db.regions import Level
from maps.i18n import DOMAIN, LOCALES, choose, language
from maps.names import region_name

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None}


def _used_messages() -> set[str]:
    found = extract_from_dir(str(ROOT / "maps"), method_map=[("**.py", "python")], keywords=KEYWORDS)
    return {message for _, _, message, _, _ in found}


def test_every_message_of_the_map_pages_has_an_indonesian_translation_and_none_is_stale() -> None:
    with open(LOCALES / "id" / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id}
    used = _used_messages()
    assert len(used) > 60  # the extractor found the messages (a wrong keyword finds none)
    assert sorted(used - set(translated)) == [], "run `make messages` and translate the new messages"
    assert sorted(m for m in used if not translated[m]) == [], "untranslated messages in the id catalog"
    assert sorted(set(translated) - used) == [], "messages no page uses any more: run `make messages`"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], "fuzzy translations need a human look"
    for message, translation in translated.items():  # the placeholders survive translation
        assert sorted(_placeholders(message)) == sorted(_placeholders(translation)), message


def _placeholders(message: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(message) if name]


def test_numbers_and_shares_follow_each_language() -> None:
    indonesian, english = language("id"), language("en")
    assert (indonesian.number(6134), english.number(6134)) == ("6.134", "6,134")
    assert (indonesian.percent(0.025), english.percent(0.025)) == ("2,5 %", "2.5 %")
    assert english.percent(0.958) == "96 %" and english.percent(0.9962) == "99.6 %"
    assert english.percent(0.99999) == "99.9 %"  # never "100 %" for a region that is not fully covered
    assert english.percent(0.00001) == "< 0.1 %" and english.percent(0) == "0 %"
    assert indonesian._("Villages") == "Desa/Kelurahan" and english._("Villages") == "Villages"


@pytest.mark.parametrize(("asked", "header", "chosen"), [
    (None, None, "id"), (None, "", "id"), (None, "en-US,en;q=0.9", "en"), (None, "id-ID,id;q=0.9,en;q=0.8", "id"),
    (None, "fr-FR,fr", "id"), (None, "fr, en;q=0.5", "en"), ("en", "id-ID", "en"), ("id", "en-US", "id"),
    ("xx", None, None), ("EN", None, None),
])
def test_the_language_comes_from_the_query_then_the_browser_then_the_default(
    asked: str | None, header: str | None, chosen: str | None
) -> None:
    assert choose(asked, header) == chosen


@pytest.mark.parametrize(("level", "code", "name", "shown"), [
    (Level.REGENCY, "34.02", "Kabupaten Bantul", "Kabupaten Bantul"),
    (Level.REGENCY, "34.71", "Kota Yogyakarta", "Kota Yogyakarta"),
    (Level.REGENCY, "34.02", "Bantul", "Kabupaten Bantul"),
    (Level.REGENCY, "34.71", "Yogyakarta", "Kota Yogyakarta"),
    (Level.REGENCY, "34.71", None, "Kota 34.71"),
    (Level.DISTRICT, "34.71.01", "Tegalrejo", "Kecamatan Tegalrejo"),
    (Level.DISTRICT, "34.71.01", "Kecamatan Tegalrejo", "Kecamatan Tegalrejo"),
    (Level.DISTRICT, "34.71.01", None, "Kecamatan 34.71.01"),
    (Level.PROVINCE, "34", "DI Yogyakarta", "DI Yogyakarta"),
    (Level.PROVINCE, "33", "Jawa Tengah", "Provinsi Jawa Tengah"),
    (Level.VILLAGE, "34.71.01.1001", "Bener", "Bener"),
    (None, None, None, "Indonesia"),
])
def test_region_names_carry_their_prefix_once(level: Level | None, code: str | None, name: str | None, shown: str) -> None:
    assert region_name(level, code, name) == shown
