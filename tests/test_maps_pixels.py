"""What a manager sees: every polygon of every map kind is painted in its class colour.

For each map (national, province, regency, district; the demo and the real DI Yogyakarta
boundaries; Indonesian and English) the page is opened in headless Chromium with every
non-loopback request refused and the reach layer switched on. For each polygon the test takes the
point farthest inside it (Shapely's polylabel of the drawn geometry), asks Leaflet where that
point is on screen (`latLngToContainerPoint`), reads the screenshot's pixels around it and
compares their colour with the polygon's class colour blended over the map background. The class
comes from the figures the GraphQL API answers and the documented class breaks written out here,
not from the code that draws the map. Boxes that float over the map (title, legend, markers,
tooltips, recommended sites) are hidden for the reading; reach outlines and gap outlines stay.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import shapely
from PIL import Image
from shapely.geometry import shape
from shapely.ops import polylabel

from db.regions import Level
from embedded.cluster import EmbeddedCluster
from tests.conftest import NIK_KEY, _clone, data, require_data, running_server, token
from tests.test_maps_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)")

# The documented classes (README "Reading the maps"), written out independently of maps/classes.py.
RED, ORANGE, YELLOW, LIGHT_GREEN, GREEN, GREY = "#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641", "#bdbdbd"


def coverage_colour(share: float | None) -> str:
    if share is None:
        return GREY
    return RED if share == 0 else ORANGE if share < 0.5 else YELLOW if share < 0.8 else LIGHT_GREEN if share < 1 else GREEN


def village_colour(agents: int, penetration: float | None) -> str:
    """The district map's village classes: not reached, reached with under 10 % enrolled, reached."""
    if agents == 0:
        return RED
    return GREY if penetration is None else YELLOW if penetration < 0.10 else GREEN


FILL_OPACITY = 0.75
HIDE_OVERLAYS = """#map-title, #map-legend, .leaflet-marker-pane, .leaflet-shadow-pane, .leaflet-tooltip-pane,
    .leaflet-popup-pane, path.site, .leaflet-control-container { display: none !important; }"""


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def page_features(html: str, level: Level) -> list[dict[str, Any]]:
    """The first GeoJSON feature folium embedded for each region of `level` (the filled layer comes
    before the gap outlines, which repeat some village codes)."""
    features: dict[str, dict[str, Any]] = {}
    for match in re.finditer(r"geo_json_[0-9a-f]+_add\((\{.*?\})\);\n", html, re.S):
        for f in json.loads(match.group(1)).get("features", []):
            code = f.get("properties", {}).get("code")
            if code and Level.of_code(code) is level:
                features.setdefault(code, f)
    return list(features.values())


def read_colours(page: Any, points: dict[str, tuple[float, float]]) -> tuple[dict[str, tuple[int, int, int]], tuple[int, int, int]]:
    """The most common colour of the 5×5 pixels around each point's place on screen, and the map's background."""
    page.add_style_tag(content=HIDE_OVERLAYS)
    page.wait_for_timeout(200)
    screen = page.evaluate("""(points) => {
        const map = Object.values(window).find(v => v && v instanceof L.Map);
        const out = {};
        for (const [code, [lat, lng]] of Object.entries(points)) {
            const p = map.latLngToContainerPoint([lat, lng]);
            out[code] = [Math.round(p.x), Math.round(p.y)];
        }
        const box = map.getContainer().getBoundingClientRect();
        return {points: out, left: box.left, top: box.top, background: getComputedStyle(map.getContainer()).backgroundColor};
    }""", points)
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    colours = {}
    for code, (x, y) in screen["points"].items():
        x, y = x + int(screen["left"]), y + int(screen["top"])
        around = [image.getpixel((x + dx, y + dy)) for dx in range(-2, 3) for dy in range(-2, 3)
                  if 0 <= x + dx < image.width and 0 <= y + dy < image.height]
        if around:
            colours[code] = Counter(around).most_common(1)[0][0]
    background = tuple(int(v) for v in re.findall(r"\d+", screen["background"])[:3])
    return colours, background  # type: ignore[return-value]


def blended(colour: str, background: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(round(FILL_OPACITY * c + (1 - FILL_OPACITY) * b) for c, b in zip(_rgb(colour), background, strict=True))  # type: ignore[return-value]


def inside_points(features: list[dict[str, Any]], page: Any, min_radius_px: float = 4) -> dict[str, tuple[float, float]]:
    """(lat, lng) of the point deepest inside each polygon, for polygons big enough on screen to read."""
    px_per_degree = page.evaluate("""() => { const map = Object.values(window).find(v => v && v instanceof L.Map);
        const a = map.latLngToContainerPoint([0, 0]), b = map.latLngToContainerPoint([0, 1]); return b.x - a.x; }""")
    points = {}
    for f in features:
        geometry = shapely.make_valid(shape(f["geometry"]))
        parts = [g for g in shapely.get_parts(shapely.get_parts(geometry)) if g.geom_type == "Polygon"]
        biggest = max(parts, key=lambda g: g.area)
        centre = polylabel(biggest, tolerance=1e-7)
        if biggest.exterior.distance(centre) * px_per_degree >= min_radius_px:
            points[f["properties"]["code"]] = (centre.y, centre.x)
    return points


def check_colours(page: Any, html: str, level: Level, expected: dict[str, str]) -> int:
    css_class = level.value
    features = [f for f in page_features(html, level) if f["properties"]["code"] in expected]
    assert features, f"no {css_class} polygons on the page"
    points = inside_points(features, page)
    assert len(points) >= 0.8 * len(features), "most polygons should be large enough on screen to read"
    colours, background = read_colours(page, points)
    wrong = {code: (colours.get(code), blended(expected[code], background), expected[code]) for code in points
             if colours.get(code) is None or max(abs(a - b) for a, b in zip(colours[code], blended(expected[code], background), strict=True)) > 8}
    assert wrong == {}, f"{len(wrong)} of {len(points)} {css_class} polygons are not in their class colour: {wrong}"
    return len(points)


@pytest.fixture(scope="module")
def diy_server(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Real DI Yogyakarta regencies and districts, then the demo's people on the real villages."""
    import asyncio

    from db.engine import create_engine
    from db.importers.boundaries import import_boundaries
    from db.importers.gisfile import read_boundary_file
    from db.regions import Level
    from demo.build import build_demo

    folder = require_data("diy_regencies.geojson", "diy_districts.geojson", "diy_villages.geojson")
    for url in _clone(cluster, templates["empty"]):

        async def load() -> None:
            engine = create_engine(url)
            try:
                for level, name in ((Level.REGENCY, "diy_regencies"), (Level.DISTRICT, "diy_districts")):
                    await import_boundaries(engine, read_boundary_file(folder / f"{name}.geojson", level))
                await build_demo(engine, boundaries=folder / "diy_villages.geojson", nik_key=NIK_KEY)
            finally:
                await engine.dispose()

        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API runs an event loop in this thread
            pool.submit(asyncio.run, load()).result()
        with running_server(url, tmp_path_factory.mktemp("diy-maps")) as base:
            yield base


def _open(browser: Any, server: str, path: str, lang: str, name: str) -> tuple[Any, str]:
    """The page in Chromium (admin token in a header, every non-loopback request refused) and its HTML."""
    url = f"{server}{path}?basemap=none&lang={lang}"
    headers = {"authorization": f"Bearer {token('admin')}"}
    html = httpx.get(url, headers=headers, timeout=60).text
    context = browser.new_context(viewport={"width": 1200, "height": 900}, extra_http_headers=headers)
    page = context.new_page()
    errors: list[str] = []
    page.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname == "127.0.0.1" else r.abort())
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    page.wait_for_selector(".leaflet-container")
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}.png"))
    assert errors == []
    return page, html


def _children_expected(server: str, field: str, code: str | None) -> dict[str, str]:
    region = "null" if code is None else f'"{code}"'
    figures = data(server, f"{{ coverage(regionCode: {region}) {{ children {{ code villages coveredVillages }} }} }}")["coverage"]
    return {c["code"]: coverage_colour(c["coveredVillages"] / c["villages"] if c["villages"] else None)
            for c in figures["children"]}


def _villages_expected(server: str, district: str) -> dict[str, str]:
    answer = data(server, f'{{ district(code: "{district}") {{ villages(first: 100) {{ edges {{ node {{ code '
                          f'coverage {{ agentCount penetration }} }} }} }} }} }}')
    return {e["node"]["code"]: village_colour(e["node"]["coverage"]["agentCount"], e["node"]["coverage"]["penetration"])
            for e in answer["district"]["villages"]["edges"]}


def _reach_on(page: Any) -> None:
    """Switch the reach layer on in the layer control if it starts off (crowded districts)."""
    for label in page.locator(".leaflet-control-layers-overlays label").all():
        if "geodesi" in label.inner_text() and not label.locator("input").is_checked():
            label.locator("input").check()
    page.wait_for_timeout(300)
    assert page.locator("path.reach").count() > 0


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize(("dataset", "province", "regencies", "district"), [
    ("diy", "34", ["34.71", "34.02"], "34.71.01"),
    ("demo", "99", ["99.01"], "99.01.01"),
])
def test_every_polygon_is_painted_in_its_class_colour(
    browser: Any, diy_server: str, server: str, dataset: str, province: str, regencies: list[str], district: str, lang: str
) -> None:
    base = diy_server if dataset == "diy" else server
    pages = [("indonesia", "/maps/indonesia", None, Level.PROVINCE),
             ("province", f"/maps/provinces/{province}", province, Level.REGENCY)]
    pages += [("regency", f"/maps/regencies/{r}", r, Level.DISTRICT) for r in regencies]
    for field, path, code, child in pages:
        expected = _children_expected(base, field, code)
        page, html = _open(browser, base, path, lang, f"{dataset}-{field}-{code or 'id'}")
        checked = check_colours(page, html, child, expected)
        if dataset == "diy" and field == "regency":  # Kota Yogyakarta and Bantul: fully covered districts exist
            assert GREEN in {expected[c] for c in expected}, f"{code}: the demo should fully cover some districts"
        assert checked > 0
        page.context.close()
    expected = _villages_expected(base, district)
    page, html = _open(browser, base, f"/maps/districts/{district}", lang, f"{dataset}-district-{district}")
    _reach_on(page)
    check_colours(page, html, Level.VILLAGE, expected)
    if dataset == "diy":  # Tegalrejo: its villages are reached, and stay in the reached colours under the circles
        assert {expected[c] for c in expected} <= {GREEN, YELLOW, GREY} and page.locator("path.reach").count() > 10
    page.context.close()
