"""Map pages in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Every request that does not go to the loopback server is aborted, so these pages must draw from
the app's own assets. Screenshots are kept in test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import data, fetch, token

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DISTRICT = "99.01.01"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_offline(browser: object, url: str, screenshot: str) -> tuple[object, list[str], list[str]]:
    """Open `url` with every non-loopback request aborted; returns the page, blocked URLs, JS errors."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    blocked: list[str] = []
    errors: list[str] = []

    def route(r: object) -> None:
        host = urlparse(r.request.url).hostname  # type: ignore[attr-defined]
        if host in ("127.0.0.1", "localhost"):
            r.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(r.request.url)  # type: ignore[attr-defined]
            r.abort()  # type: ignore[attr-defined]

    page.route("**/*", route)  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: errors.append(str(e)))  # type: ignore[attr-defined]
    page.goto(url, wait_until="load")  # type: ignore[attr-defined]
    page.wait_for_selector(".leaflet-container")  # type: ignore[attr-defined]
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=False)  # type: ignore[attr-defined]
    return page, blocked, errors


def map_url(server: str, field: str, code: str, metric: str, basemap: str) -> str:
    query = f'{{ {field}(code: "{code}") {{ mapUrl(metric: {metric}, basemap: {basemap}) }} }}'
    return str(data(server, query)[field]["mapUrl"])


@pytest.mark.parametrize(("metric", "basemap"), [("COVERAGE", "OSM"), ("PENETRATION", "NONE")])
def test_district_map_draws_every_village_agent_and_circle_offline(
    browser: object, server: str, shared_demo_db: str, metric: str, basemap: str
) -> None:
    villages = fetch(shared_demo_db, "SELECT count(*) n FROM village WHERE district_code = $1 AND geom IS NOT NULL",
                     DISTRICT)[0]["n"]
    agents = fetch(shared_demo_db, """SELECT count(*) n FROM agent WHERE home_village_code LIKE $1 || '.%'
        OR id IN (SELECT agent_id FROM agent_reach WHERE village_code LIKE $1 || '.%')""", DISTRICT)[0]["n"]
    assert villages > 0 and agents > 0
    page, blocked, errors = open_offline(browser, map_url(server, "district", DISTRICT, metric, basemap),
                                         f"district-{DISTRICT}-{metric.lower()}.png")
    assert errors == []
    assert page.locator("path.village").count() == villages  # type: ignore[attr-defined]
    assert page.locator("path.reach").count() == agents  # type: ignore[attr-defined]
    assert page.locator(".leaflet-marker-icon").count() == agents  # type: ignore[attr-defined]
    assert page.locator(".leaflet-control-layers").count() == 1  # type: ignore[attr-defined]
    assert page.locator(".leaflet-control-scale").count() == 1  # type: ignore[attr-defined]
    assert page.locator("#map-title h1").inner_text().startswith("Kecamatan ")  # type: ignore[attr-defined]
    assert page.locator("#map-legend .swatch").count() >= 4  # type: ignore[attr-defined]
    assert all("tile.openstreetmap.org" in url for url in blocked)  # only basemap tiles were refused
    assert bool(blocked) is (basemap == "OSM")
    # Leaflet drew the marker icons from the app's own copy, not a CDN.
    icon = page.locator(".leaflet-marker-icon").first.get_attribute("src")  # type: ignore[attr-defined]
    assert icon and "/assets/leaflet@" in icon
    page.close()  # type: ignore[attr-defined]


def test_regency_map_draws_every_district_and_opens_one_on_click(browser: object, server: str, shared_demo_db: str) -> None:
    districts = fetch(shared_demo_db, "SELECT code FROM district WHERE regency_code = '99.01' AND geom IS NOT NULL ORDER BY code")
    page, blocked, errors = open_offline(browser, map_url(server, "regency", "99.01", "COVERAGE", "NONE"), "regency-99.01.png")
    assert errors == [] and blocked == []
    assert page.locator("path.district").count() == len(districts)  # type: ignore[attr-defined]
    assert page.locator("#map-legend .swatch").count() == 6  # type: ignore[attr-defined]  # five classes, no data
    assert page.locator(".leaflet-control-layers").count() == 1  # type: ignore[attr-defined]
    page.locator("path.district").first.click(force=True)  # type: ignore[attr-defined]
    page.wait_for_url("**/maps/districts/**")  # type: ignore[attr-defined]
    assert page.locator("path.village").count() > 0  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]


def test_manager_token_header_page_in_browser(browser: object, server: str) -> None:
    """A bearer token in a header works too (for tools that can send one)."""
    context = browser.new_context(extra_http_headers={"authorization": f"Bearer {token('manager', '99.01')}"})  # type: ignore[attr-defined]
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
    page.goto(f"{server}/maps/districts/{DISTRICT}?basemap=none")
    page.wait_for_selector("path.village")
    assert page.locator("path.village").count() > 0
    context.close()


FEATURE_LINKS = """() => Object.keys(window).filter(k => window[k] instanceof L.GeoJSON).flatMap(k => {
    const urls = []; window[k].eachLayer(l => l.feature && l.feature.properties && l.feature.properties.url && urls.push(l.feature.properties.url));
    return urls; })"""


def test_an_exported_regency_folder_opens_from_disk_and_every_link_works(
    browser: object, shared_demo_db: str, tmp_path: Path
) -> None:
    """Every page reachable from index.html (title-box links and the links behind each polygon) is in
    the folder and draws with no network request and no script error."""
    output = tmp_path / "bantul"
    result = subprocess.run([sys.executable, "-m", "cli.main", "map", "regency", "99.01", "-o", str(output)],
                            env={**os.environ, "DATABASE_URL": shared_demo_db}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    districts = [r["code"] for r in fetch(shared_demo_db, "SELECT code FROM district WHERE regency_code = '99.01'")]
    page = browser.new_page()  # type: ignore[attr-defined]
    requests: list[str] = []
    errors: list[str] = []
    page.route("**/*", lambda r: (requests.append(r.request.url), r.continue_() if r.request.url.startswith("file:") else r.abort()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    queue, seen = [(output / "index.html").as_uri()], set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        page.goto(url)
        if url.endswith("index.html"):
            page.wait_for_url("**/regencies/99.01.html")  # it sends the reader on to the regency's map
        page.wait_for_selector("path.leaflet-interactive")
        # Every link but the attribution's (Leaflet's home page: credit, not navigation).
        hrefs = page.eval_on_selector_all("a[href]:not(.leaflet-control-attribution a)", "els => els.map(e => e.href)")
        links = [page.evaluate("u => new URL(u, location.href).href", u) for u in page.evaluate(FEATURE_LINKS)]
        for link in hrefs + links:
            assert Path(urlparse(link).path).is_file(), f"dead link {link} on {page.url}"
            queue.append(link)
    pages = {Path(urlparse(u).path).relative_to(output).as_posix() for u in seen}
    assert pages == {"index.html", "regencies/99.01.html", *(f"districts/{c}.html" for c in districts)}
    assert errors == [] and all(u.startswith("file:") for u in requests)
    page.close()


def test_export_refuses_unknown_codes(shared_demo_db: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "cli.main", "map", "regency", "99.55", "-o", str(tmp_path / "r")],
                            env={**os.environ, "DATABASE_URL": shared_demo_db}, capture_output=True, text=True)
    assert result.returncode == 1 and "no regency with code 99.55" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_request_of_a_map_page_or_graphiql_fails(browser: object, server: str) -> None:
    """Every request a person's browser makes succeeds, and the pages name their icon (a browser
    with a window asks for /favicon.ico otherwise, a 404 in every map's console; headless Chromium
    does not ask, so the link is what is checked)."""
    for url, ready in [(map_url(server, "district", DISTRICT, "COVERAGE", "NONE"), "path.village"),
                       (f"{server}/graphql", ".graphiql-container")]:
        page = browser.new_page()  # type: ignore[attr-defined]
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
        page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
        page.goto(url, wait_until="load")
        page.wait_for_selector(ready)
        page.wait_for_timeout(500)
        assert failed == [], failed
        assert page.locator("link[rel=icon]").count() >= 1  # named, so no /favicon.ico request
        page.close()
