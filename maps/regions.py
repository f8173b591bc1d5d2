"""Choropleths of a region's children: Indonesia's provinces, a province's regencies, a regency's
districts, each in its coverage or penetration class; a click opens the child's map."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import folium
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.queries import coverage, maps
from db.queries.coverage import child_of
from db.queries.suppression import mark_suppressed
from db.records import Activity, CoverageFigures
from db.regions import Level
from maps.classes import NO_DATA, classify
from maps.i18n import Language
from maps.legend import class_section, enrollment_number, level_noun, metric_value, penetration_text, reached_villages
from maps.names import region_name
from maps.page import PageOptions, base_map, legend, properties, render, title_box

OPEN_ON_CLICK = folium.JsCode("""function (feature, layer) {
    if (feature.properties.url) { layer.on('click', function () { window.location.href = feature.properties.url; }); }
}""")
INDONESIA_CENTRE = (-2.5, 118.0)  # where a map with no boundary at all is centred
# The national sums read every enrollment (1.5 s on 2 million); the national map reuses them for a
# minute, per server process. Province and lower maps are always computed fresh.
NATIONAL_FIGURES_TTL_S = 60.0
_national_figures: dict[Activity, tuple[float, CoverageFigures]] = {}


@dataclass(frozen=True)
class RegionData:
    level: Level | None  # None: Indonesia
    code: str | None
    name: str | None
    bounds: maps.Bounds | None
    parent: tuple[str, str | None] | None  # code and name of the region above (None: Indonesia above or none)
    figures: CoverageFigures
    geometries: dict[str, Any]  # the children's outlines (their villages' union where known)


async def region_data(
    session: AsyncSession, level: Level | None, code: str | None, viewer: Viewer, activity: Activity = Activity()
) -> RegionData | None:
    """The region's children and figures (aggregates only: the same for every caller allowed in)."""
    if level is None:
        name, bounds, parent = None, await maps.national_bounds(session), None
    else:
        outline = await maps.outline(session, level, str(code), detail=False)
        if outline is None:
            return None
        name, bounds = outline.name, outline.bounds
        parent = (outline.parent_code, outline.parent_name) if outline.parent_code else None
    figures = (await mark_suppressed(session, viewer, {None: await _national(session, activity)}))[None] if level is None else \
        (await coverage.region_coverage(session, level, [str(code)], activity, viewer))[code]
    geometries = await maps.child_geometries(session, child_of(level), code, maps.tolerance(bounds))
    return RegionData(level, code, name, bounds, parent, figures, geometries)


async def _national(session: AsyncSession, activity: Activity) -> CoverageFigures:
    cached = _national_figures.get(activity)
    if cached is not None and time.monotonic() - cached[0] < NATIONAL_FIGURES_TTL_S:
        return cached[1]
    figures = (await coverage.region_coverage(session, None, [], activity))[None]
    _national_figures[activity] = (time.monotonic(), figures)
    return figures


def _features(data: RegionData, options: PageOptions, fill: dict[str, str]) -> list[dict[str, Any]]:
    lang, child = options.language, child_of(data.level)
    features = []
    for c in data.figures.children:
        if c.code not in data.geometries:
            continue
        features.append({"type": "Feature", "geometry": data.geometries[c.code], "properties": {
            **properties(
                name=region_name(child, c.code, c.name), code=c.code, fill=fill[str(c.code)],
                reached=reached_villages(lang, c), not_enrolled=enrollment_number(lang, c.uncovered_workers, c.suppressed),
                penetration=penetration_text(lang, c.penetration, c.suppressed),
                agents=lang.number(c.active_agents),
            ),
            "url": options.links.to(child, c.code, data.level),  # navigated to, never shown: a code and our suffix
        }})
    return features


def region_page(data: RegionData, options: PageOptions) -> str:
    lang, _ = options.language, options.language._
    child, f = child_of(data.level), data.figures
    m = base_map(data.bounds, options, data.level)
    if data.bounds is None:
        m.location, m.options["zoom"] = list(INDONESIA_CENTRE), 5
    children = [c for c in f.children if c.code in data.geometries]
    classes = classify([metric_value(c, options.metric) for c in children], options.metric, options.classification)
    fill = {str(c.code): classes.colour(metric_value(c, options.metric)) for c in children}
    folium.GeoJson(
        {"type": "FeatureCollection", "features": _features(data, options, fill)}, name=level_noun(lang, child, plural=True),
        style_function=lambda feat: {"fillColor": feat["properties"]["fill"], "color": "#333", "weight": 1,
                                     "fillOpacity": 0.75, "className": child.value},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code", "reached", "not_enrolled", "penetration", "agents"],
            aliases=[level_noun(lang, child), _("Code"), _("Villages reached by an active agent"),
                     _("Informal workers not enrolled"), _("Penetration (enrolled ÷ informal workers)"),
                     _("Active agents")]),
        on_each_feature=OPEN_ON_CLICK,
    ).add_to(m)
    legend(m, [class_section(lang, classes, options, NO_DATA)], _classes_note(lang, options, child))
    folium.LayerControl(collapsed=False).add_to(m)
    title = region_name(data.level, data.code, data.name)
    title_box(m, title, _headline(lang, f, child, len(children) < len(f.children)), _links(data, options))
    return render(m, _("Coverage map · {region}").format(region=title), options)


def _headline(lang: Language, f: CoverageFigures, child: Level, missing_shapes: bool) -> list[str]:
    _ = lang._
    lines = [
        _("Villages reached by an active agent: {reached}").format(reached=reached_villages(lang, f)),
        _("Informal workers not enrolled: {n} · penetration {p}").format(
            n=enrollment_number(lang, f.uncovered_workers, f.suppressed), p=penetration_text(lang, f.penetration, f.suppressed)),
        _("Active agents: {n} · click a region to open its map").format(n=lang.number(f.active_agents)),
    ]
    if child is Level.PROVINCE:
        lines.append(_("National figures are recomputed every minute."))
    if missing_shapes:
        lines.append(_("Some {regions} have no boundary yet and are not drawn; import their villages' boundaries.")
                     .format(regions=level_noun(lang, child, plural=True).lower()))
    return lines


def _classes_note(lang: Language, options: PageOptions, child: Level) -> str | None:
    if options.classification == "fixed":
        return None
    return lang._("Classes rank these {regions} against each other ({method}); they are not fixed thresholds.").format(
        regions=level_noun(lang, child, plural=True).lower(), method=options.classification.replace("_", " "))


def _links(data: RegionData, options: PageOptions) -> list[tuple[str, str | None]]:
    """Up to the parent's map and the national one, where they exist (an export may not hold them)."""
    links: list[tuple[str, str | None]] = []
    if data.parent is not None and data.level is not None and data.level.parent is not None:
        code, name = data.parent
        links.append((region_name(data.level.parent, code, name), options.links.to(data.level.parent, code, data.level)))
    if data.level is not None:
        links.append(("Indonesia", options.links.to(None, None, data.level)))
    return [(label, url) for label, url in links if url is not None]
