"""The district map: villages by coverage class or penetration, agents and their geodesic reach,
gaps and recommended sites, with the district's headline figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import folium
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.queries import coverage, maps, siting
from db.records import Activity, CoverageFigures
from db.regions import Level
from geo.siting import greedy
from maps.assets import asset
from maps.escape import text
from maps.page import (
    NO_DATA,
    PageOptions,
    base_map,
    class_legend,
    classify,
    marker_cluster,
    popup,
    properties,
    render,
    title_box,
    tooltip,
)

LOW_PENETRATION = 0.10  # the coverageGaps default
OVERLOAD_WORKERS = 3000  # the agentWorkload default
AGENT_MARKER_BUDGET = 300  # beyond this many agents: clustered markers and no reach circles
SITES = 5
SITE_REACH_M = 5000
COVERAGE_CLASSES = [("Not reached by any active agent", "#d7301f"),
                    (f"Reached, penetration below {LOW_PENETRATION:.0%}", "#fdae61"),
                    ("Reached", "#1a9850"), ("Reached, no estimate", NO_DATA)]


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
    figures = (await coverage.region_coverage(session, Level.DISTRICT, [code], activity))[code]
    villages = await maps.village_features(session, code, outline.tolerance, activity, viewer)
    agents = await maps.agent_features(session, code, activity, viewer)
    problem = await siting.siting_data(session, code, SITE_REACH_M, activity)
    chosen = greedy(problem.reaches, [float(w) for _, w in problem.demand], SITES)
    sites = [(*problem.candidates[s.candidate][:3], round(s.gain)) for s in chosen]
    return DistrictData(outline, figures, villages, agents, sites)  # type: ignore[arg-type]


def _coverage_class(v: maps.VillageFeature) -> str:
    if v.agent_count == 0:
        return COVERAGE_CLASSES[0][1]
    if v.penetration is None:
        return NO_DATA
    return COVERAGE_CLASSES[1][1] if v.penetration < LOW_PENETRATION else COVERAGE_CLASSES[2][1]


def _number(value: float | int | None, fmt: str = "{:,}") -> str:
    return "no estimate" if value is None else fmt.format(value)


def _village_collection(villages: list[maps.VillageFeature], fill: dict[str, str]) -> dict[str, Any]:
    features = []
    for v in villages:
        if v.geometry is None:
            continue
        nearest = ("none active" if v.nearest_m is None else f"{v.nearest_m / 1000:.1f} km" if v.nearest_agent_code is None
                   else f"{v.nearest_agent_code}, {v.nearest_m / 1000:.1f} km")
        features.append({"type": "Feature", "geometry": v.geometry, "properties": properties(
            name=v.name or v.code, code=v.code, fill=fill[v.code],
            workers=_number(v.informal_workers), enrolled=f"{v.active_enrollments:,}",
            penetration=_number(v.penetration, "{:.1%}"), nearest=nearest,
            reached_by=f"{v.agent_count} active agent(s)",
        )})
    return {"type": "FeatureCollection", "features": features}


def _village_layers(m: folium.Map, data: DistrictData, options: PageOptions) -> None:
    if options.metric == "penetration":
        classes = classify([v.penetration for v in data.villages], options.classification)
        fill = {v.code: classes.colour(v.penetration) for v in data.villages}
        legend = classes.colormap(f"Penetration ({options.classification.replace('_', ' ')}); grey: no estimate",
                                  f"{options.assets}/{asset('d3', 'd3.min.js')}")
        legend.add_to(m)
    else:
        fill = {v.code: _coverage_class(v) for v in data.villages}
        class_legend(m, "Villages", COVERAGE_CLASSES)
    fields = ["name", "code", "workers", "enrolled", "penetration", "nearest", "reached_by"]
    aliases = ["Village", "Code", "Informal workers", "Active enrollments", "Penetration", "Nearest agent", "Reached by"]
    folium.GeoJson(
        _village_collection(data.villages, fill), name="Villages",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#444", "weight": 1,
                                  "fillOpacity": 0.6, "className": "village"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
    ).add_to(m)
    gaps = [v for v in data.villages if v.agent_count == 0]
    folium.GeoJson(
        _village_collection(gaps, {v.code: "none" for v in gaps}), name="Gaps (no active agent in reach)",
        style_function=lambda f: {"fill": False, "color": "#67000d", "weight": 3, "dashArray": "6 4",
                                  "className": "gap"},
    ).add_to(m)


def _agent_colour(agent: maps.AgentFeature) -> str:
    if not agent.counts:
        return "#737373"
    return "#d7301f" if agent.workers_share > OVERLOAD_WORKERS else "#fd8d3c" if agent.workers_share > OVERLOAD_WORKERS / 2 else "#2171b5"


def _agent_layers(m: folium.Map, data: DistrictData, options: PageOptions) -> bool:
    """Markers and reach circles; returns False when the budget forced clustering without circles."""
    within_budget = len(data.agents) <= AGENT_MARKER_BUDGET
    markers = folium.FeatureGroup(name="Agents") if within_budget else marker_cluster(options, "Agents")
    reach = folium.FeatureGroup(name="Reach (geodesic)")
    for a in data.agents:
        markup = (f"<b>{text(a.name)}</b> ({text(a.code)})<br>{'active' if a.counts else 'inactive'}"
                  f"<br>Reach {a.reach_m:,} m: {a.villages_in_reach} villages, {a.workers_in_reach:,} workers"
                  f"<br>Workload share {a.workers_share:,.0f} workers<br>Enrollments, last 30 days: {a.enrollments_30_days}")
        folium.Marker([a.lat, a.lng], popup=popup(markup), tooltip=tooltip(a.code)).add_to(markers)
        if within_budget:
            folium.Circle([a.lat, a.lng], radius=a.reach_m, color=_agent_colour(a), weight=1.5, fill=True,
                          fill_opacity=0.05, dash_array=None if a.counts else "4 4", class_name="reach").add_to(reach)
    markers.add_to(m)
    if within_budget:
        reach.add_to(m)
    return within_budget


def _site_layer(m: folium.Map, data: DistrictData) -> None:
    group = folium.FeatureGroup(name="Recommended sites", show=True)
    for rank, (code, lng, lat, gain) in enumerate(data.sites, start=1):
        folium.CircleMarker([lat, lng], radius=8, color="#54278f", fill=True, fill_opacity=0.9, class_name="site",
                            tooltip=tooltip(f"Site {rank}: village {code}, +{gain:,} uncovered workers in "
                                            f"{SITE_REACH_M / 1000:g} km")).add_to(group)
    group.add_to(m)


def district_page(data: DistrictData, options: PageOptions) -> str:
    o, f = data.outline, data.figures
    m = base_map(o.bounds, options)
    if o.geometry is not None:
        folium.GeoJson(o.geometry, name="District outline", control=False,
                       style_function=lambda _: {"fill": False, "color": "#000", "weight": 2.5, "className": "outline"}).add_to(m)
    _village_layers(m, data, options)
    circles = _agent_layers(m, data, options)
    _site_layer(m, data)
    folium.LayerControl(collapsed=False).add_to(m)
    lines = [
        f"Coverage {f.coverage_pct or 0:.0f} % of {f.villages} villages · uncovered workers {f.uncovered_workers:,}",
        f"Agents: {f.active_agents} active based here, {len(data.agents)} reaching or based here"
        + ("" if circles else f" (over {AGENT_MARKER_BUDGET}: clustered, reach circles hidden)"),
    ]
    links = [(f"Regency {o.parent_name or o.parent_code}", f"../regencies/{o.parent_code}{options.link_suffix}")] if o.parent_code else []
    links += [(name or code, f"{code}{options.link_suffix}") for code, name in o.neighbours]
    title_box(m, f"Kecamatan {o.name or o.code} ({o.code})", lines, links)
    return render(m, f"Coverage map · {o.name or o.code}")
