"""The regency map: districts as a choropleth of coverage % or penetration; a click opens the district."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import folium
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.queries import coverage, maps
from db.records import Activity, CoverageFigures
from db.regions import Level
from maps.assets import asset
from maps.page import PageOptions, base_map, classify, properties, render, title_box

OPEN_ON_CLICK = folium.JsCode("""function (feature, layer) {
    layer.on('click', function () { window.location.href = feature.properties.url; });
}""")


@dataclass(frozen=True)
class RegencyData:
    outline: maps.Outline
    figures: CoverageFigures
    geometries: dict[str, Any]


async def regency_data(
    session: AsyncSession, code: str, viewer: Viewer, activity: Activity = Activity()
) -> RegencyData | None:
    """The regency's districts and figures (aggregates only: the same for every caller allowed in)."""
    outline = await maps.outline(session, Level.REGENCY, code)
    if outline is None:
        return None
    figures = (await coverage.region_coverage(session, Level.REGENCY, [code], activity))[code]
    geometries = await maps.child_geometries(session, Level.DISTRICT, code, outline.tolerance)
    return RegencyData(outline, figures, geometries)


def _value(f: CoverageFigures, metric: str) -> float | None:
    return f.penetration if metric == "penetration" else f.coverage_pct


def regency_page(data: RegencyData, options: PageOptions) -> str:
    o, f = data.outline, data.figures
    m = base_map(o.bounds, options)
    districts = [c for c in f.children if c.code in data.geometries]
    classes = classify([_value(c, options.metric) for c in districts], options.classification)
    features = []
    for c in districts:
        value = _value(c, options.metric)
        features.append({"type": "Feature", "geometry": data.geometries[c.code], "properties": {
            **properties(
                name=c.name or c.code, code=c.code, fill=classes.colour(value),
                coverage=f"{c.coverage_pct or 0:.0f} % of {c.villages} villages", uncovered=f"{c.uncovered_workers:,}",
                penetration="no estimate" if c.penetration is None else f"{c.penetration:.1%}",
                agents=f"{c.active_agents}",
            ),
            "url": f"../districts/{c.code}{options.link_suffix}",  # navigated to, never shown: a code and our suffix
        }})
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name="Districts",
        style_function=lambda feat: {"fillColor": feat["properties"]["fill"], "color": "#333", "weight": 1,
                                     "fillOpacity": 0.7, "className": "district"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code", "coverage", "uncovered", "penetration", "agents"],
            aliases=["District", "Code", "Coverage", "Uncovered workers", "Penetration", "Active agents"]),
        on_each_feature=OPEN_ON_CLICK,
    ).add_to(m)
    label = "Penetration" if options.metric == "penetration" else "Coverage %"
    classes.colormap(f"{label} ({options.classification.replace('_', ' ')}); grey: no data",
                     f"{options.assets}/{asset('d3', 'd3.min.js')}").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    lines = [f"Coverage {f.coverage_pct or 0:.0f} % of {f.villages:,} villages · uncovered workers {f.uncovered_workers:,}",
             f"{f.active_agents:,} active agents · click a district to open its map"]
    title_box(m, f"{o.name or o.code} ({o.code})", lines, [])
    return render(m, f"Coverage map · {o.name or o.code}")
