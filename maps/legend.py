"""Words and legend sections shared by every map page: level nouns, metric names, class swatches."""

from __future__ import annotations

from db.records import CoverageFigures
from db.regions import Level
from maps.classes import Classes
from maps.i18n import N_, Language
from maps.page import PageOptions, Swatch

_NOUNS = {
    Level.PROVINCE: (N_("Province"), N_("Provinces")),
    Level.REGENCY: (N_("Regency"), N_("Regencies")),
    Level.DISTRICT: (N_("District"), N_("Districts")),
    Level.VILLAGE: (N_("Village"), N_("Villages")),
}
METRIC_TITLES = {
    "coverage": N_("Villages reached by an active agent"),
    "penetration": N_("Penetration (enrolled ÷ informal workers)"),
}
NO_DATA_LABELS = {"coverage": N_("No villages"), "penetration": N_("No estimate of informal workers")}


def level_noun(lang: Language, level: Level, plural: bool = False) -> str:
    return lang._(_NOUNS[level][1 if plural else 0])


def reached_villages(lang: Language, f: CoverageFigures) -> str:
    """"88 % (91 of 104)": the share of a region's villages reached by an active agent."""
    return lang._("{share} ({covered} of {villages})").format(
        share=lang.percent(f.covered_share or 0), covered=lang.number(f.covered_villages), villages=lang.number(f.villages))


def not_shown(lang: Language) -> str:
    """What a page says for an enrollment figure suppressed for the caller (small counts)."""
    return lang._("not shown (small count)")


def enrollment_number(lang: Language, value: int | None, suppressed: bool = False) -> str:
    """An enrollment figure, or "not shown" when it is suppressed (None)."""
    return not_shown(lang) if suppressed or value is None else lang.number(value)


def penetration_text(lang: Language, penetration: float | None, suppressed: bool) -> str:
    """A penetration, "not shown" when suppressed, or "no estimate"."""
    if suppressed:
        return not_shown(lang)
    return lang._("no estimate") if penetration is None else lang.percent(penetration)


def metric_value(f: CoverageFigures, metric: str) -> float | None:
    """The share a choropleth colours a region by (0–1)."""
    return f.penetration if metric == "penetration" else f.covered_share


def class_section(lang: Language, classes: Classes, options: PageOptions, no_data: str) -> tuple[str, list[Swatch]]:
    """The legend section of a choropleth: every class from best to worst, then the no-data class."""
    swatches = [Swatch(band.label(lang.percent_number), band.colour) for band in reversed(classes.bands)]
    swatches.append(Swatch(lang._(NO_DATA_LABELS[options.metric]), no_data))
    return lang._(METRIC_TITLES[options.metric]), swatches
