"""What every map page shares: local assets, basemap, title box, legends and classification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import branca.colormap
import folium
import mapclassify
import numpy as np
from branca.element import Element, Figure, JavascriptLink
from folium import plugins

from maps.assets import asset
from maps.escape import template_literal, text

NO_DATA = "#bdbdbd"
CLASS_COLOURS = ["#d7301f", "#fc8d59", "#fdcc8a", "#b3de69", "#1a9850"]  # low → high
CLASSIFIERS = {"quantiles": mapclassify.Quantiles, "equal_interval": mapclassify.EqualInterval,
               "natural_breaks": mapclassify.NaturalBreaks}


@dataclass(frozen=True)
class PageOptions:
    metric: str = "coverage"  # coverage | penetration
    basemap: str = "osm"  # osm | none
    classification: str = "quantiles"
    assets: str = "/maps/assets"  # URL (or relative path) where the vendored files are served
    link_suffix: str = ""  # appended to links to other maps (a ?token=… when opened from a link)


def base_map(bounds: tuple[float, float, float, float] | None, options: PageOptions) -> folium.Map:
    """A map that loads Leaflet from `options.assets` and fits `bounds`; scale bar and fullscreen."""
    m = folium.Map(tiles=None, control_scale=True, zoom_snap=0.25)
    m.default_js = [("leaflet", f"{options.assets}/{asset('leaflet', 'leaflet.js')}"),
                    ("jquery", f"{options.assets}/{asset('jquery', 'jquery.min.js')}")]
    m.default_css = [("leaflet_css", f"{options.assets}/{asset('leaflet', 'leaflet.css')}")]
    if options.basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=False).add_to(m)
    full = plugins.Fullscreen()
    full.default_js = [("fullscreen_js", f"{options.assets}/{asset('leaflet.fullscreen', 'Control.FullScreen.js')}")]
    full.default_css = [("fullscreen_css", f"{options.assets}/{asset('leaflet.fullscreen', 'Control.FullScreen.css')}")]
    full.add_to(m)
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def marker_cluster(options: PageOptions, name: str) -> plugins.MarkerCluster:
    cluster = plugins.MarkerCluster(name=name)
    cluster.default_js = [("markerclusterjs", f"{options.assets}/{asset('leaflet.markercluster', 'leaflet.markercluster.js')}")]
    cluster.default_css = [
        ("markerclustercss", f"{options.assets}/{asset('leaflet.markercluster', 'MarkerCluster.css')}"),
        ("markerclusterdefaultcss", f"{options.assets}/{asset('leaflet.markercluster', 'MarkerCluster.Default.css')}"),
    ]
    return cluster


class LocalStepColormap(branca.colormap.StepColormap):
    """branca's StepColormap with its d3 loaded from the local assets instead of a CDN."""

    def __init__(self, *args: Any, d3_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.d3_url = d3_url

    def render(self, **kwargs: Any) -> None:
        super().render(**kwargs)
        figure = self.get_root()
        assert isinstance(figure, Figure)
        figure.header.add_child(JavascriptLink(self.d3_url), name="d3")  # replaces branca's CDN link


@dataclass(frozen=True)
class Classes:
    """A named classification of values into colours, with a class for missing values."""

    name: str
    bins: list[float]  # upper bounds
    low: float

    def colour(self, value: float | None) -> str:
        if value is None:
            return NO_DATA
        for i, upper in enumerate(self.bins):
            if value <= upper:
                return CLASS_COLOURS[round(i * (len(CLASS_COLOURS) - 1) / max(1, len(self.bins) - 1))]
        return CLASS_COLOURS[-1]

    def colormap(self, caption: str, d3_url: str) -> LocalStepColormap:
        edges = [self.low, *self.bins]
        colours = [self.colour(b) for b in self.bins]
        if edges[-1] <= edges[0]:
            edges[-1] = edges[0] + 1e-9
        return LocalStepColormap(colours, index=edges, vmin=edges[0], vmax=edges[-1], caption=caption, d3_url=d3_url)


def classify(values: Sequence[float | None], method: str, k: int = 5) -> Classes:
    """Classes of the known values (mapclassify); None values go to the "no data" class."""
    known = np.array([v for v in values if v is not None], dtype=float)
    if len(known) == 0:
        return Classes(method, [0.0], 0.0)
    distinct = len(np.unique(known))
    if distinct < 2:
        return Classes(method, [float(known.max())], float(known.min()))
    result = CLASSIFIERS[method](known, k=min(k, distinct))
    return Classes(method, [float(b) for b in result.bins], float(known.min()))


def title_box(m: folium.Map, title: str, lines: list[str], links: list[tuple[str, str]]) -> None:
    """A fixed box with the region's headline figures and links to related maps."""
    items = "".join(f"<div>{text(line)}</div>" for line in lines)
    anchors = " · ".join(f'<a href="{text(url)}">{text(label)}</a>' for label, url in links)
    box = f"""<div id="map-title" style="position:absolute;top:10px;left:50px;z-index:1000;background:white;
        padding:8px 12px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px sans-serif;max-width:45%">
        <div style="font-weight:bold;font-size:15px">{text(title)}</div>{items}
        <div style="margin-top:4px">{anchors}</div></div>"""
    m.get_root().html.add_child(Element(box))


def class_legend(m: folium.Map, title: str, entries: list[tuple[str, str]]) -> None:
    """A fixed legend of named colour classes (for class fills that are not a numeric scale)."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{colour};'
        f'margin-right:6px;vertical-align:middle;border:1px solid #555"></span>{text(label)}</div>'
        for label, colour in entries
    )
    legend = f"""<div id="map-legend" class="legend" style="position:absolute;bottom:30px;right:10px;z-index:1000;
        background:white;padding:8px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px sans-serif">
        <div style="font-weight:bold">{text(title)}</div>{rows}</div>"""
    m.get_root().html.add_child(Element(legend))


def popup(markup: str, max_width: int = 300) -> folium.Popup:
    """A popup of HTML built with `maps.escape.text` (folium puts it inside a template literal)."""
    return folium.Popup(template_literal(markup), max_width=max_width)


def tooltip(label: object) -> folium.Tooltip:
    """A plain-text tooltip (folium puts its text, as HTML, inside a template literal)."""
    return folium.Tooltip(template_literal(text(label)))


def properties(**values: object) -> dict[str, str]:
    """GeoJSON feature properties shown by GeoJsonTooltip, which inserts them with innerHTML."""
    return {name: text(value) for name, value in values.items()}


def render(m: folium.Map, title: str) -> str:
    m.get_root().title = text(title)  # branca writes <title>{{ title }}</title> unescaped
    return m.get_root().render()
