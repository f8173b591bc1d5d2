"""Map pages over HTTP: access, metrics, options, offline assets and the page-size bound."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, fetch, require_data, running_server, token

DISTRICT = "99.01.01"
MAX_DISTRICT_PAGE_BYTES = 1_500_000


def get(server: str, path: str, auth: str | None = None, **params: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {auth}"} if auth else {}
    return httpx.get(f"{server}{path}", params=params, headers=headers, timeout=60)


def external_assets(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(https?://[^"]+)"', page)


@pytest.mark.parametrize("metric", ["coverage", "penetration"])
@pytest.mark.parametrize("basemap", ["osm", "none"])
def test_district_map_for_both_metrics_draws_from_local_assets(server: str, shared_demo_db: str, metric: str, basemap: str) -> None:
    response = get(server, f"/maps/districts/{DISTRICT}", token("admin"), metric=metric, basemap=basemap)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert external_assets(page) == []  # Leaflet and its plugins come from /assets
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page):
        assert get(server, asset).status_code == 200, asset
    assert ("tile.openstreetmap.org" in page) is (basemap == "osm")
    villages = fetch(shared_demo_db, "SELECT code FROM village WHERE district_code = $1", DISTRICT)
    assert all(v["code"] in page for v in villages)
    assert 'id="map-legend"' in page and '<html lang="id">' in page  # Bahasa Indonesia unless asked otherwise
    title = "Penetrasi (peserta aktif" if metric == "penetration" else "Desa/Kelurahan</div>"
    assert title in page


def test_regency_map_links_every_district(server: str, shared_demo_db: str) -> None:
    page = get(server, "/maps/regencies/99.01", token("planner"), metric="penetration").text
    districts = [r["code"] for r in fetch(shared_demo_db, "SELECT code FROM district WHERE regency_code = '99.01'")]
    assert districts and all(f"../districts/{code}?" in page for code in districts)
    assert external_assets(page) == []


@pytest.mark.parametrize(("path", "auth", "status"), [
    (f"/maps/districts/{DISTRICT}", None, 401),
    (f"/maps/districts/{DISTRICT}", "not-a-token", 401),
    (f"/maps/districts/{DISTRICT}", token("manager", "99.71"), 403),
    ("/maps/regencies/99.01", token("manager", "99.71"), 403),
    (f"/maps/districts/{DISTRICT}", token("agent", agent="AG-000001"), 403),
    ("/maps/districts/99.01.77", token("admin"), 404),
    ("/maps/regencies/99.55", token("admin"), 404),
    ("/maps/districts/99.01", token("admin"), 404),  # a regency code on the district route
])
def test_refusals_are_plain_readable_pages(server: str, path: str, auth: str | None, status: int) -> None:
    response = get(server, path, auth)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>" in response.text and "leaflet" not in response.text.lower()


@pytest.mark.parametrize(("name", "value"), [("metric", "speed"), ("basemap", "google"), ("classification", "random")])
def test_unknown_options_are_named(server: str, name: str, value: str) -> None:
    response = get(server, f"/maps/districts/{DISTRICT}", token("admin"), **{name: value})
    assert response.status_code == 400 and name in response.text


def test_map_url_is_a_short_lived_link_that_opens_only_maps(server: str) -> None:
    manager = token("manager", "99.01")
    got = data(server, f'{{ district(code: "{DISTRICT}") {{ mapUrl(metric: PENETRATION, basemap: NONE) }} '
                       '}', auth=manager)
    url = got["district"]["mapUrl"]
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    assert parsed.path == f"/maps/districts/{DISTRICT}" and query["metric"] == ["penetration"]
    link = query["token"][0]
    response = httpx.get(url, timeout=60)  # no header: the link alone opens the page
    # Links to the regency and neighbouring districts carry the options and the link on.
    carried = html.escape(f"?metric=penetration&basemap=none&classification=fixed&token={link}")
    assert response.status_code == 200 and f'href="../regencies/99.01{carried}"' in response.text
    claims = json.loads(base64.urlsafe_b64decode(link.split(".")[1] + "=="))
    assert claims["use"] == "maps" and claims["exp"] - claims["iat"] == 30 * 60 and claims["scope"] == ["99.01"]
    # The link keeps the manager's scope and cannot query the API.
    assert get(server, "/maps/regencies/99.71", None, token=link).status_code == 403
    body = httpx.post(f"{server}/graphql", json={"query": "{ me { role } }"},
                      headers={"authorization": f"Bearer {link}"}, timeout=60).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    agent = data(server, f'{{ village(code: "{DISTRICT}.2001") {{ district {{ mapUrl }} }} }}',
                 auth=token("agent", agent="AG-000001"))
    assert agent["village"] is None or agent["village"]["district"] is None or agent["village"]["district"]["mapUrl"] is None


@pytest.fixture(scope="module")
def fifty_real_villages(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A district of 50 real DIY village polygons (full detail) beside the demo, with agents."""
    folder = require_data("diy_villages.geojson")
    features = json.loads(Path(folder / "diy_villages.geojson").read_text())["features"][:50]
    for url in _clone(cluster, templates["demo"]):
        async def build() -> None:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute("INSERT INTO province (code, name) VALUES ('98', 'Uji'); "
                                   "INSERT INTO regency (code, name, province_code) VALUES ('98.01', 'Uji', '98')")
                await conn.execute("INSERT INTO district (code, name, regency_code, geom) VALUES ('98.01.01', 'Lima Puluh', "
                                   "'98.01', ST_Multi(ST_Union(ARRAY(SELECT ST_SetSRID(ST_GeomFromGeoJSON(g), 4326) "
                                   "FROM unnest($1::text[]) g))))", [json.dumps(f["geometry"]) for f in features])
                for i, f in enumerate(features):
                    await conn.execute(
                        "INSERT INTO village (code, name, district_code, geom, label_point, informal_workers) "
                        "SELECT $1::text, $2, '98.01.01', g, ST_PointOnSurface(g), $3 "
                        "FROM (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($4), 4326)) AS g) s",
                        f"98.01.01.{2001 + i}", f["properties"]["name"], 500 + i if i % 10 else None,
                        json.dumps(f["geometry"]))
                await conn.execute(
                    "INSERT INTO agent (code, name, home_village_code, location, reach_m) "
                    "SELECT 'UJI-' || code, 'Agen ' || name, code, label_point, 3000 FROM village "
                    "WHERE district_code = '98.01.01' AND right(code, 1) IN ('1', '5')")
            finally:
                await conn.close()

        asyncio.run(build())
        with running_server(url, tmp_path_factory.mktemp("maps50")) as server:
            yield server


@pytest.mark.parametrize("metric", ["coverage", "penetration"])
def test_a_fifty_village_district_page_stays_under_the_size_bound(fifty_real_villages: str, metric: str) -> None:
    response = get(fifty_real_villages, "/maps/districts/98.01.01", token("admin"), metric=metric)
    assert response.status_code == 200
    assert len(response.content) < MAX_DISTRICT_PAGE_BYTES
    print(f"50-village district page ({metric}): {len(response.content):,} bytes")
    assert response.text.count('"code": "98.01.01.') >= 50  # every village is in the page
    coordinates = re.findall(r"\[(1\d\d\.\d+), (-\d+\.\d+)\]", response.text)
    assert coordinates and all(len(x.split(".")[1]) <= 5 for x, _ in coordinates[:2000])


def test_agent_popups_carry_the_same_workload_as_the_api(server: str) -> None:
    page = get(server, f"/maps/districts/{DISTRICT}", token("admin"), basemap="none", lang="en").text
    popups = dict(re.findall(r"\(([A-Z]+-\d+)\)<br>(?:in)?active<br>.*?Workload share: ([\d,]+) informal workers", page))
    workload = data(server, f'{{ agentWorkload(regionCode: "{DISTRICT}", first: 500) {{ edges {{ node {{ '
                            'workersShare agent { code } } } } }')["agentWorkload"]["edges"]
    assert workload and popups
    for edge in workload:  # agents based in the district are all on its map
        code = edge["node"]["agent"]["code"]
        assert popups[code] == f"{edge['node']['workersShare']:,.0f}", code


def agents_on_map(page: str) -> set[str]:
    """Codes of the agent markers (their tooltips) and of the agents named in popups."""
    tooltips = re.findall(r"bindTooltip\(\s*`<div[^>]*>\s*([A-Za-z0-9._-]+)\s*</div>`", page)
    popups = re.findall(r"</b> \(([A-Za-z0-9._-]+)\)<br>", page)
    return set(tooltips) | set(popups)


AGENTS_SEEN = """query($d: String!) { agents(first: 500) { edges { node { code homeVillage { code }
    villagesInReach(first: 500, filter: {regionCode: $d}) { totalCount } } } } }"""


@pytest.mark.parametrize("role, scope", [("admin", ()), ("planner", ()), ("manager", ("99.01",)),
                                          ("manager", (DISTRICT,)), ("manager", (DISTRICT + ".2001", "99.01.02"))])
def test_a_map_shows_exactly_the_agents_its_token_sees_through_the_api(server: str, role: str, scope: tuple[str, ...]) -> None:
    auth = token(role, *scope)
    response = get(server, f"/maps/districts/{DISTRICT}", auth, basemap="none")
    edges = data(server, AGENTS_SEEN, {"d": DISTRICT}, auth=auth)["agents"]["edges"]
    seen = {e["node"]["code"] for e in edges if (e["node"]["homeVillage"] or {}).get("code", "").startswith(DISTRICT + ".")
            or e["node"]["villagesInReach"]["totalCount"] > 0}
    if role == "manager" and not any(DISTRICT.startswith(s) for s in scope):
        assert response.status_code == 403  # a village or a neighbour in scope does not open the district
        return
    assert response.status_code == 200 and seen
    assert agents_on_map(response.text) == seen
    everyone = agents_on_map(get(server, f"/maps/districts/{DISTRICT}", token("admin"), basemap="none").text)
    assert seen <= everyone


def test_a_narrow_manager_map_leaves_out_agents_based_elsewhere(server: str, shared_demo_db: str) -> None:
    outsiders = fetch(shared_demo_db, """SELECT DISTINCT a.code FROM agent a JOIN agent_reach r ON r.agent_id = a.id
        WHERE r.village_code LIKE $1 || '.%' AND a.home_village_code NOT LIKE $1 || '.%'""", DISTRICT)
    assert outsiders, "the demo should have agents reaching the district from outside it"
    page = get(server, f"/maps/districts/{DISTRICT}", token("manager", DISTRICT), basemap="none").text
    shown = agents_on_map(page)
    assert shown and not shown & {r["code"] for r in outsiders}
    for code in (r["code"] for r in outsiders):
        assert code not in page  # not in a marker, popup, tooltip or "nearest agent"


def test_an_agent_token_opens_no_map(server: str) -> None:
    assert get(server, f"/maps/districts/{DISTRICT}", token("agent", agent="AG-000001")).status_code == 403


def test_past_the_agent_budget_markers_cluster_and_circles_are_left_out() -> None:
    """The page builder alone (no database): 301 agents switch the page to clustered markers."""
    from db.queries.maps import AgentFeature, Outline, VillageFeature
    from db.records import CoverageFigures
    from db.regions import Level
    from maps.district import AGENT_MARKER_BUDGET, DistrictData, district_page
    from maps.page import PageOptions

    square = {"type": "MultiPolygon", "coordinates": [[[[110, -7], [110.1, -7], [110.1, -6.9], [110, -6.9], [110, -7]]]]}
    outline = Outline("98.01.01", "Padat", Level.DISTRICT, square, (110, -7, 110.1, -6.9), "98.01", "Uji", [])
    village = VillageFeature("98.01.01.2001", "Ramai", square, 1000, 10, 3, 3, "A-1", 100.0, "few_enrolled")
    figures = CoverageFigures("98.01.01", Level.DISTRICT, "Padat", 1, 1, 0, 1000, 1000, 10, 10, 990, 3)

    def page(agents: int) -> str:
        crowd = [AgentFeature(f"A-{i}", f"Agen {i}", 110.05, -6.95, 2000, True, 1, 1000, 10.0, 0) for i in range(agents)]
        return district_page(DistrictData(outline, figures, [village], crowd, []), PageOptions(basemap="none", lang="en"))

    small, crowded = page(AGENT_MARKER_BUDGET), page(AGENT_MARKER_BUDGET + 1)
    assert "markerClusterGroup" not in small and small.count('"className": "reach"') == AGENT_MARKER_BUDGET
    assert "markerClusterGroup" in crowded and '"className": "reach"' not in crowded
    assert "reach is not drawn" in crowded
    assert re.findall(r'src="(/assets/leaflet[.]markercluster@[^"]+)"', crowded)


def test_national_and_province_map_links_open_their_pages_for_those_allowed(server: str) -> None:
    got = data(server, '{ indonesiaMapUrl(basemap: NONE) province(code: "99") { mapUrl(metric: PENETRATION) } }',
               auth=token("planner"))
    for url, path in ((got["indonesiaMapUrl"], "/maps/indonesia"), (got["province"]["mapUrl"], "/maps/provinces/99")):
        assert urlparse(url).path == path
        response = httpx.get(url, timeout=60)
        assert response.status_code == 200 and response.headers["content-language"] == "id"
    manager = data(server, '{ indonesiaMapUrl }', auth=token("manager", "99.01"))
    assert manager["indonesiaMapUrl"] is None  # a manager of one regency cannot open the national map
    assert get(server, "/maps/indonesia", token("manager", "99.01")).status_code == 403


@pytest.mark.parametrize(("accept", "lang", "expected"), [
    (None, None, "id"), ("en-US,en;q=0.9", None, "en"), ("fr, en;q=0.5", None, "en"), ("en", "id", "id"), ("id", "en", "en"),
])
def test_the_page_language_follows_lang_then_the_browser(server: str, accept: str | None, lang: str | None, expected: str) -> None:
    headers = {"authorization": f"Bearer {token('admin')}", **({"accept-language": accept} if accept else {})}
    response = httpx.get(f"{server}/maps/regencies/99.01", params={"lang": lang} if lang else {}, headers=headers, timeout=60)
    assert response.status_code == 200 and response.headers["content-language"] == expected
    assert f'<html lang="{expected}">' in response.text
    assert ("Desa dalam jangkauan agen aktif" in response.text) is (expected == "id")


def test_an_unknown_language_is_a_page_that_names_the_choices(server: str) -> None:
    response = get(server, f"/maps/districts/{DISTRICT}", token("admin"), lang="fr")
    assert response.status_code == 400 and "lang=fr" in response.text and "id, en" in response.text
