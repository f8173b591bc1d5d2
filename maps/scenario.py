"""The map of a scenario: its region's villages by what the scenario changes (newly reached, no
longer reached, reached either way, not reached either way), the agents it adds and those it moves,
re-reaches or stops, each drawn distinctly, with the delta as the headline."""

from __future__ import annotations

from dataclasses import dataclass

import folium
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.queries import maps
from db.queries.scenarios import AgentChange, ScenarioRecord, VillageChange, agent_changes, scenario, village_changes
from db.regions import Level
from maps.classes import SCALE
from maps.escape import text
from maps.i18n import N_, Language
from maps.legend import level_noun
from maps.names import region_name
from maps.page import PageOptions, Swatch, base_map, legend, popup, properties, render, title_box, tooltip

# Villages: the red → green scale for coverage (as the other maps), with the two changes strongest.
CLASSES = {
    "gained": (SCALE[4], N_("Newly reached under the scenario")),
    "kept": ("#d9ef8b", N_("Reached today and under the scenario")),
    "lost": (SCALE[0], N_("No longer reached under the scenario")),
    "never": ("#fee08b", N_("Not reached, today or under the scenario")),
}
# Agents: colours no village class uses.
ADDED, MOVED, STOPPED = "#e66101", "#5e3c99", "#525252"


@dataclass(frozen=True)
class ScenarioData:
    record: ScenarioRecord
    outline: maps.Outline
    villages: list[VillageChange]
    agents: list[AgentChange]


async def scenario_data(session: AsyncSession, scenario_id: str, viewer: Viewer) -> ScenarioData | None:
    """The scenario (None when absent, not visible, or the id is not a number) and its layers."""
    if not scenario_id.isascii() or not scenario_id.isdigit() or len(scenario_id) > 18:
        return None
    record = await scenario(session, int(scenario_id), viewer)
    if record is None:
        return None
    level = Level.of_code(record.region_code)
    assert level is not None
    outline = await maps.outline(session, level, record.region_code, detail=level is not Level.PROVINCE)
    if outline is None:
        return None
    villages = await village_changes(session, record, outline.tolerance)
    return ScenarioData(record, outline, villages, await agent_changes(session, record, viewer))


def change_class(v: VillageChange) -> str:
    if v.before == 0:
        return "gained" if v.after > 0 else "never"
    return "kept" if v.after > 0 else "lost"


def _villages(m: folium.Map, data: ScenarioData, lang: Language) -> None:
    _ = lang._
    features = [{"type": "Feature", "geometry": v.geometry, "properties": properties(
        name=region_name(Level.VILLAGE, v.code, v.name), code=v.code, fill=CLASSES[change_class(v)][0],
        change=_(CLASSES[change_class(v)][1]),
        workers=_("no estimate") if v.informal_workers is None else lang.number(v.informal_workers),
        before=lang.number(v.before), after=lang.number(v.after))}
        for v in data.villages if v.geometry is not None]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=level_noun(lang, Level.VILLAGE, plural=True),
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#444", "weight": 1,
                                  "fillOpacity": 0.75, "className": "village"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code", "change", "workers", "before", "after"],
            aliases=[level_noun(lang, Level.VILLAGE), _("Code"), _("Change"), _("Informal workers"),
                     _("Active agents reaching it today"), _("Active agents reaching it under the scenario")]),
    ).add_to(m)


def _agent_label(a: AgentChange, lang: Language) -> str:
    _ = lang._
    if a.code is None:
        return _("New agent {name}, reach {m} m").format(name=a.name, m=lang.number(a.reach_m))
    if not a.active:
        return _("{code} stops").format(code=a.code)
    return _("{code}: reach {m} m from here (today {was} m)").format(
        code=a.code, m=lang.number(a.reach_m), was=lang.number(a.was_reach_m or 0))


def _agents(m: folium.Map, data: ScenarioData, lang: Language) -> None:
    _ = lang._
    group = folium.FeatureGroup(name=_("Agents the scenario adds or changes"))
    for a in data.agents:
        colour = ADDED if a.code is None else MOVED if a.active else STOPPED
        label = _agent_label(a, lang)
        folium.CircleMarker([a.lat, a.lng], radius=7, color="#ffffff", weight=2, fill=True, fill_color=colour,
                            fill_opacity=1, class_name="scenario-agent", tooltip=tooltip(label),
                            popup=popup(text(label))).add_to(group)
        if a.active:
            folium.Circle([a.lat, a.lng], radius=a.reach_m, color=colour, weight=2, fill=False,
                          class_name="reach").add_to(group)
        if a.was_lng is not None and a.was_lat is not None and (a.was_lng, a.was_lat) != (a.lng, a.lat):
            folium.PolyLine([[a.was_lat, a.was_lng], [a.lat, a.lng]], color=colour, weight=2, dash_array="6 4",
                            class_name="moved").add_to(group)
    group.add_to(m)


def scenario_page(data: ScenarioData, options: PageOptions) -> str:
    lang, o = options.language, data.outline
    _ = lang._
    m = base_map(o.bounds, options, o.level)
    if o.geometry is not None:
        folium.GeoJson(o.geometry, name="outline", control=False,
                       style_function=lambda _: {"fill": False, "color": "#000", "weight": 2.5, "className": "outline"}).add_to(m)
    _villages(m, data, lang)
    _agents(m, data, lang)
    present = {change_class(v) for v in data.villages}
    kinds = {(a.code is None, a.active) for a in data.agents}
    legend(m, [
        (level_noun(lang, Level.VILLAGE, plural=True), [Swatch(_(label), colour) for key, (colour, label) in CLASSES.items()
                                                        if key in present]),
        (_("Agents the scenario adds or changes"), [
            swatch for swatch, shown in ((Swatch(_("Added, and its reach"), ADDED, "dot"), (True, True) in kinds),
                                         (Swatch(_("Moved or re-reached, and its reach"), MOVED, "dot"), (False, True) in kinds),
                                         (Swatch(_("Stopped"), STOPPED, "dot"), (False, False) in kinds)) if shown]),
    ])
    folium.LayerControl(collapsed=False).add_to(m)
    region = region_name(o.level, o.code, o.name)
    title_box(m, data.record.name, _headline(data, region, lang), [])
    return render(m, _("Scenario · {name}").format(name=data.record.name), options)


def _headline(data: ScenarioData, region: str, lang: Language) -> list[str]:
    _ = lang._
    gained = [v for v in data.villages if change_class(v) == "gained"]
    lost = [v for v in data.villages if change_class(v) == "lost"]

    def workers(vs: list[VillageChange]) -> str:
        return lang.number(sum(v.informal_workers or 0 for v in vs))

    return [
        _("Scenario over {region}, saved by {who}").format(region=region, who=data.record.created_by),
        _("Newly reached villages: {n} ({workers} informal workers)").format(n=lang.number(len(gained)), workers=workers(gained)),
        _("Villages no longer reached: {n} ({workers} informal workers)").format(n=lang.number(len(lost)), workers=workers(lost)),
    ]
