"""The district map: villages by coverage class or penetration, agents and their geodesic reach,
gaps and recommended sites, with the district's headline figures.

Reach is drawn as outlines with no fill, in colours no village class uses, so the village classes
underneath stay readable however many circles overlap; past REACH_SHOWN_UP_TO agents the reach
layer starts switched off (one click in the layer control draws it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import folium
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.queries import coverage, maps, siting
from db.queries.suppression import suppresses
from db.records import Activity, CoverageFigures
from db.regions import Level
from db.rules import DEFAULT_REACH_M, LOW_PENETRATION, OVERLOAD_WORKERS
from geo.siting import greedy
from maps.classes import NO_DATA, PENETRATION, SCALE
from maps.escape import text
from maps.i18n import N_, Language
from maps.legend import class_section, enrollment_number, level_noun, penetration_text, reached_villages
from maps.names import region_name
from maps.page import PageOptions, Swatch, base_map, legend, marker_cluster, popup, properties, render, title_box, tooltip

AGENT_MARKER_BUDGET = 300  # beyond this many agents: clustered markers and no reach circles
REACH_SHOWN_UP_TO = 25  # more agents than this: the reach layer starts switched off
SITES = 5
# Village classes of the coverage map, from the red → green scale (so they read like the other maps).
NOT_REACHED, FEW_ENROLLED, REACHED = SCALE[0], SCALE[2], SCALE[4]
# Agents and reach: blues and purples, which no village class uses.
AGENT_COLOURS = {"within": "#2166ac", "busy": "#8073ac", "overloaded": "#40004b", "inactive": "#525252"}
AGENT_LABELS = {
    "within": N_("Workload within capacity"),
    "busy": N_("Workload above half of capacity"),
    "overloaded": N_("Overloaded"),
    "inactive": N_("Inactive (dashed)"),
}
SITE_COLOUR = "#000000"
GAP_COLOUR = "#67000d"


@dataclass(frozen=True)
class DistrictData:
    outline: maps.Outline
    figures: CoverageFigures
    villages: list[maps.VillageFeature]
    agents: list[maps.AgentFeature]
    sites: list[tuple[str, float, float, int]]  # village code, lng, lat, newly reached workers


async def district_data(
    session: AsyncSession, code: str, viewer: Viewer, activity: Activity = Activity()
) -> DistrictData | None:
    """Everything the page shows to `viewer` (agents scoped as the API scopes them): one statement per layer."""
    outline = await maps.outline(session, Level.DISTRICT, code)
    if outline is None:
        return None
    figures = (await coverage.region_coverage(session, Level.DISTRICT, [code], activity, viewer))[code]
    villages = await maps.village_features(session, code, outline.tolerance, activity, viewer)
    agents = await maps.agent_features(session, code, activity, viewer)
    problem = await siting.siting_data(session, code, DEFAULT_REACH_M, activity, suppress=suppresses(viewer))
    chosen = greedy(problem.reaches, [float(w) for _, w in problem.demand], SITES)
    sites = [(*problem.candidates[s.candidate][:3], round(s.gain)) for s in chosen]
    return DistrictData(outline, figures, villages, agents, sites)


SUPPRESSED = "#9e9ac8"  # purple, outside the red-green scale: reached, enrollments not shown to this caller
CLASS_COLOURS = {"not_reached": NOT_REACHED, "no_estimate": NO_DATA, "few_enrolled": FEW_ENROLLED, "reached": REACHED,
                 "suppressed": SUPPRESSED}


def coverage_class(v: maps.VillageFeature) -> str:
    """The colour of a village on the coverage map (its class comes from the database's rule)."""
    return CLASS_COLOURS[v.coverage_class]


def _coverage_swatches(lang: Language, with_suppressed: bool) -> list[Swatch]:
    _ = lang._
    swatches = [Swatch(_("Reached"), REACHED),
                Swatch(_("Reached, under {share} of informal workers enrolled").format(share=lang.percent(LOW_PENETRATION)),
                       FEW_ENROLLED),
                Swatch(_("Not reached by any active agent"), NOT_REACHED),
                Swatch(_("Reached, no estimate of informal workers"), NO_DATA)]
    if with_suppressed:
        swatches.append(Swatch(_("Reached, enrollments not shown (small counts)"), SUPPRESSED))
    return swatches


def _village_collection(villages: list[maps.VillageFeature], fill: dict[str, str], lang: Language) -> dict[str, Any]:
    _ = lang._
    features = []
    for v in villages:
        if v.geometry is None:
            continue
        km = None if v.nearest_m is None else lang.number(v.nearest_m / 1000, 1) + " km"
        nearest = (_("none active") if km is None else km if v.nearest_agent_code is None
                   else f"{v.nearest_agent_code}, {km}")
        features.append({"type": "Feature", "geometry": v.geometry, "properties": properties(
            name=region_name(Level.VILLAGE, v.code, v.name), code=v.code, fill=fill[v.code],
            workers=_("no estimate") if v.informal_workers is None else lang.number(v.informal_workers),
            enrolled=enrollment_number(lang, v.active_enrollments),
            penetration=penetration_text(lang, v.penetration, v.active_enrollments is None), nearest=nearest,
            reached_by=lang.number(v.agent_count),
        )})
    return {"type": "FeatureCollection", "features": features}


def _village_layers(m: folium.Map, data: DistrictData, options: PageOptions) -> tuple[str, list[Swatch]]:
    """Villages and gap outlines; returns the villages' legend section."""
    lang, _ = options.language, options.language._
    if options.metric == "penetration":
        fill = {v.code: PENETRATION.colour(v.penetration) for v in data.villages}
        section = class_section(lang, PENETRATION, options, NO_DATA)
    else:
        fill = {v.code: coverage_class(v) for v in data.villages}
        with_suppressed = any(v.coverage_class == "suppressed" for v in data.villages)
        section = (level_noun(lang, Level.VILLAGE, plural=True), _coverage_swatches(lang, with_suppressed))
    fields = ["name", "code", "workers", "enrolled", "penetration", "nearest", "reached_by"]
    aliases = [level_noun(lang, Level.VILLAGE), _("Code"), _("Informal workers"), _("Active enrollments"),
               _("Penetration (enrolled ÷ informal workers)"), _("Nearest active agent"),
               _("Active agents reaching it")]
    folium.GeoJson(
        _village_collection(data.villages, fill, lang), name=level_noun(lang, Level.VILLAGE, plural=True),
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#444", "weight": 1,
                                  "fillOpacity": 0.75, "className": "village"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
    ).add_to(m)
    gaps = [v for v in data.villages if v.agent_count == 0]
    folium.GeoJson(
        _village_collection(gaps, {v.code: "none" for v in gaps}, lang), name=_("Gaps: villages no agent reaches"),
        style_function=lambda f: {"fill": False, "color": GAP_COLOUR, "weight": 3, "dashArray": "6 4",
                                  "className": "gap"},
    ).add_to(m)
    return section


def agent_kind(agent: maps.AgentFeature) -> str:
    if not agent.counts:
        return "inactive"
    if agent.workers_share > OVERLOAD_WORKERS:
        return "overloaded"
    return "busy" if agent.workers_share > OVERLOAD_WORKERS / 2 else "within"


def _agent_popup(a: maps.AgentFeature, lang: Language) -> str:
    _ = lang._
    status = _("active") if a.counts else _("inactive")
    reach = _("Reach {m} m: {villages} villages, {workers} informal workers").format(
        m=lang.number(a.reach_m), villages=lang.number(a.villages_in_reach), workers=lang.number(a.workers_in_reach))
    return (f"<b>{text(a.name)}</b> ({text(a.code)})<br>{text(status)}"
            f"<br>{text(reach)}"
            f"<br>{text(_('Workload share: {n} informal workers').format(n=lang.number(a.workers_share)))}"
            f"<br>{text(_('Enrollments in the last 30 days: {n}').format(n=lang.number(a.enrollments_30_days)))}")


def _agent_layers(m: folium.Map, data: DistrictData, options: PageOptions) -> bool:
    """Markers and reach outlines; returns False when the budget forced clustering without reach."""
    _ = options.language._
    within_budget = len(data.agents) <= AGENT_MARKER_BUDGET
    name = _("Agents")
    markers = folium.FeatureGroup(name=name) if within_budget else marker_cluster(options, name, Level.DISTRICT)
    reach = folium.FeatureGroup(name=_("Reach of each agent (geodesic)"), show=len(data.agents) <= REACH_SHOWN_UP_TO)
    for a in data.agents:
        folium.Marker([a.lat, a.lng], popup=popup(_agent_popup(a, options.language)), tooltip=tooltip(a.code)).add_to(markers)
        if within_budget:
            folium.Circle([a.lat, a.lng], radius=a.reach_m, color=AGENT_COLOURS[agent_kind(a)], weight=2, fill=False,
                          dash_array=None if a.counts else "4 4", class_name="reach").add_to(reach)
    markers.add_to(m)
    if within_budget:
        reach.add_to(m)
    return within_budget


def _site_layer(m: folium.Map, data: DistrictData, lang: Language) -> None:
    group = folium.FeatureGroup(name=lang._("Recommended sites for new agents"), show=True)
    for rank, (code, lng, lat, gain) in enumerate(data.sites, start=1):
        label = lang._("Site {rank}: village {code}, {n} more informal workers within {km} km").format(
            rank=rank, code=code, n=lang.number(gain), km=lang.number(DEFAULT_REACH_M / 1000, 1))
        folium.CircleMarker([lat, lng], radius=7, color="#ffffff", weight=2, fill=True, fill_color=SITE_COLOUR,
                            fill_opacity=1, class_name="site", tooltip=tooltip(label)).add_to(group)
    group.add_to(m)


def _legend(m: folium.Map, villages: tuple[str, list[Swatch]], data: DistrictData, circles: bool, lang: Language) -> None:
    _ = lang._
    kinds = sorted({agent_kind(a) for a in data.agents}, key=list(AGENT_COLOURS).index)
    agents = [Swatch(_(AGENT_LABELS[k]), AGENT_COLOURS[k], "dashed" if k == "inactive" else "line") for k in kinds]
    legend(m, [
        villages,
        (_("Agents and their reach") if circles else _("Agents"), agents),
        (_("Recommended sites for new agents"), [Swatch(_("Site"), SITE_COLOUR, "dot")] if data.sites else []),
        (_("Gaps: villages no agent reaches"), [Swatch(_("Gap"), GAP_COLOUR, "dashed")]
         if any(v.agent_count == 0 for v in data.villages) else []),
    ])


def district_page(data: DistrictData, options: PageOptions) -> str:
    o, lang = data.outline, options.language
    _ = lang._
    m = base_map(o.bounds, options, Level.DISTRICT)
    if o.geometry is not None:
        folium.GeoJson(o.geometry, name="outline", control=False,
                       style_function=lambda _: {"fill": False, "color": "#000", "weight": 2.5, "className": "outline"}).add_to(m)
    villages = _village_layers(m, data, options)
    circles = _agent_layers(m, data, options)
    _site_layer(m, data, lang)
    _legend(m, villages, data, circles, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    title = region_name(Level.DISTRICT, o.code, o.name)
    title_box(m, title, _headline(data, circles, lang), _links(data, options))
    return render(m, _("Coverage map · {region}").format(region=title), options)


def _headline(data: DistrictData, circles: bool, lang: Language) -> list[str]:
    f, _ = data.figures, lang._
    lines = [
        _("Villages reached by an active agent: {reached}").format(reached=reached_villages(lang, f)),
        _("Informal workers not enrolled: {n}").format(n=enrollment_number(lang, f.uncovered_workers, f.suppressed)),
        _("Agents: {active} active based here, {shown} reaching or based here").format(
            active=lang.number(f.active_agents), shown=lang.number(len(data.agents))),
    ]
    if not circles:
        lines.append(_("Over {n} agents: markers are grouped and reach is not drawn.").format(n=AGENT_MARKER_BUDGET))
    elif len(data.agents) > REACH_SHOWN_UP_TO:
        lines.append(_("Many agents: switch on their reach in the layer list."))
    return lines


def _links(data: DistrictData, options: PageOptions) -> list[tuple[str, str | None]]:
    o = data.outline
    links = [(region_name(Level.REGENCY, o.parent_code, o.parent_name), options.links.to(Level.REGENCY, o.parent_code, Level.DISTRICT))] \
        if o.parent_code else []
    links += [(region_name(Level.DISTRICT, code, name), options.links.to(Level.DISTRICT, code, Level.DISTRICT))
              for code, name in o.neighbours]
    return [(label, url) for label, url in links if url is not None]
