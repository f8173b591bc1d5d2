"""What every map page shares: options, links between maps, local assets, basemap, title box, legend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import folium
from branca.element import Element, Figure
from folium import plugins

from db.queries.maps import Bounds
from db.regions import Level
from maps.classes import CLASSIFICATIONS, METRICS
from maps.escape import template_literal, text
from maps.i18n import DEFAULT, Language, language
from web_assets import FAVICON_LINK, asset
from web_assets import URL as ASSETS_URL

BASEMAPS = ("osm", "none")
PAGE_BUDGET_BYTES = 1_500_000  # the largest page a manager on a slow connection should wait for


@dataclass(frozen=True)
class Links:
    """Where a page's links to other maps point.

    Every page but the national one sits one folder down (`/maps/districts/34.71.01`, or
    `districts/34.71.01.html` in an export), so links are relative and the same on the server and
    on disk: `../regencies/34.71` plus the server's query (`?metric=…&token=…`) or `.html`.
    """

    suffix: str = ""
    only: frozenset[str] | None = None  # an export: the codes whose pages it holds (None: every page)
    assets: str = ASSETS_URL  # the server's; an export's are relative to each page

    def to(self, level: Level | None, code: str | None, here: Level | None) -> str | None:
        """The link from a page of level `here` to the map of (`level`, `code`); None when that
        page is not part of this export."""
        if self.only is not None and (code or "indonesia") not in self.only:
            return None
        up = "" if here is None else "../"
        path = "indonesia" if level is None else f"{level.plural}/{code}"
        return f"{up}{path}{self.suffix}"

    def asset(self, package: str, filename: str, here: Level | None) -> str:
        up = "" if here is None or self.assets.startswith("/") else "../"
        return f"{up}{self.assets}/{asset(package, filename)}"


@dataclass(frozen=True)
class PageOptions:
    metric: str = "coverage"  # one of maps.classes.METRICS
    basemap: str = "osm"  # osm | none
    classification: str = "fixed"  # one of maps.classes.CLASSIFICATIONS
    lang: str = DEFAULT
    links: Links = field(default_factory=Links)

    def __post_init__(self) -> None:
        for name, allowed in (("metric", METRICS), ("basemap", BASEMAPS), ("classification", CLASSIFICATIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
        language(self.lang)  # raises for a language we do not have

    @property
    def language(self) -> Language:
        return language(self.lang)


def base_map(bounds: Bounds | None, options: PageOptions, here: Level | None) -> folium.Map:
    """A map that loads Leaflet from the app's assets and fits `bounds`; scale bar and fullscreen."""
    link = options.links.asset
    m = folium.Map(tiles=None, control_scale=True, zoom_snap=0.25)
    m.default_js = [("leaflet", link("leaflet", "leaflet.js", here)), ("jquery", link("jquery", "jquery.min.js", here))]
    m.default_css = [("leaflet_css", link("leaflet", "leaflet.css", here))]
    if options.basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=False).add_to(m)
    full = plugins.Fullscreen(title=options.language._("Full screen"), title_cancel=options.language._("Exit full screen"))
    full.default_js = [("fullscreen_js", link("leaflet.fullscreen", "Control.FullScreen.js", here))]
    full.default_css = [("fullscreen_css", link("leaflet.fullscreen", "Control.FullScreen.css", here))]
    full.add_to(m)
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def marker_cluster(options: PageOptions, name: str, here: Level | None) -> plugins.MarkerCluster:
    link = options.links.asset
    cluster = plugins.MarkerCluster(name=name)
    cluster.default_js = [("markerclusterjs", link("leaflet.markercluster", "leaflet.markercluster.js", here))]
    cluster.default_css = [
        ("markerclustercss", link("leaflet.markercluster", "MarkerCluster.css", here)),
        ("markerclusterdefaultcss", link("leaflet.markercluster", "MarkerCluster.Default.css", here)),
    ]
    return cluster


def title_box(m: folium.Map, title: str, lines: list[str], links: list[tuple[str, str | None]]) -> None:
    """A fixed box with the region's headline figures and links to related maps (plain text where
    the map is not available, as in an export that does not hold it)."""
    items = "".join(f"<div>{text(line)}</div>" for line in lines)
    anchors = " · ".join(f'<a href="{text(url)}">{text(label)}</a>' if url else text(label) for label, url in links)
    box = f"""<div id="map-title" style="position:absolute;top:10px;left:50px;z-index:1000;background:white;
        padding:8px 12px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px sans-serif;max-width:45%">
        <h1 style="font-weight:bold;font-size:15px;margin:0">{text(title)}</h1>{items}
        <div style="margin-top:4px">{anchors}</div></div>"""
    _figure(m).html.add_child(Element(box))


@dataclass(frozen=True)
class Swatch:
    """One legend entry: a filled square, an outline, a dashed outline or a dot."""

    label: str
    colour: str
    shape: str = "fill"  # fill | line | dashed | dot

    def html(self) -> str:
        style = {
            "fill": f"background:{self.colour};border:1px solid #555",
            "line": f"border:2px solid {self.colour};border-radius:50%",
            "dashed": f"border:2px dashed {self.colour}",
            "dot": f"background:{self.colour};border-radius:50%;border:1px solid #fff",
        }[self.shape]
        return (f'<div class="legend-entry"><span class="swatch" style="display:inline-block;width:14px;height:14px;'
                f'margin-right:6px;vertical-align:middle;box-sizing:border-box;{style}"></span>{text(self.label)}</div>')


def legend(m: folium.Map, sections: list[tuple[str, list[Swatch]]], note: str | None = None) -> None:
    """A fixed legend with one titled section per layer shown."""
    body = "".join(f'<div class="legend-title" style="font-weight:bold;margin-top:4px">{text(title)}</div>'
                   + "".join(s.html() for s in swatches) for title, swatches in sections if swatches)
    if note:
        body += f'<div class="legend-note" style="margin-top:4px;max-width:16em;color:#444">{text(note)}</div>'
    box = f"""<div id="map-legend" class="legend" style="position:absolute;bottom:30px;right:10px;z-index:1000;
        background:white;padding:8px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px sans-serif;
        line-height:18px">{body}</div>"""
    _figure(m).html.add_child(Element(box))


def popup(markup: str, max_width: int = 300) -> folium.Popup:
    """A popup of HTML built with `maps.escape.text` (folium puts it inside a template literal)."""
    return folium.Popup(template_literal(markup), max_width=max_width)


def tooltip(label: object) -> folium.Tooltip:
    """A plain-text tooltip (folium puts its text, as HTML, inside a template literal)."""
    return folium.Tooltip(template_literal(text(label)))


def properties(**values: object) -> dict[str, str]:
    """GeoJSON feature properties shown by GeoJsonTooltip, which inserts them with innerHTML."""
    return {name: text(value) for name, value in values.items()}


def _figure(m: folium.Map) -> Figure:
    """The page a map is drawn in (folium types get_root() as the Element it is a subclass of)."""
    return cast(Figure, m.get_root())


def render(m: folium.Map, title: str, options: PageOptions) -> str:
    root = _figure(m)
    root.title = text(title)  # branca writes <title>{{ title }}</title> unescaped
    root.header.add_child(Element(FAVICON_LINK), name="favicon")
    page = root.render()
    return page.replace("<html>", f'<html lang="{options.lang}">', 1)  # screen readers and translators read it
