"""Vector tiles over HTTP, decoded with mapbox-vector-tile: the same villages, classes and figures
as GraphQL answers for the tile's box (classes from the documented rule, written out here), the
same regions and agents; scoped by the token; cache validators; coded refusals."""

from __future__ import annotations

import math
from typing import Any

import httpx
import mapbox_vector_tile
import pytest

from tests.conftest import data, token

LOW_PENETRATION = 0.10  # README: "reached, under 10 % of informal workers enrolled"


def tile_of(lng: float, lat: float, z: int) -> tuple[int, int]:
    """The slippy-map tile holding a point (the OSM formula)."""
    n = 2 ** z
    x = int((lng + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile in degrees."""
    n = 2 ** z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def expected_class(agents: int, workers: int | None, enrolled: int) -> str:
    if agents == 0:
        return "not_reached"
    if not workers:
        return "no_estimate"
    return "few_enrolled" if enrolled / workers < LOW_PENETRATION else "reached"


def fetch_tile(server: str, path: str, auth: str | None = None, **headers: str) -> httpx.Response:
    if auth is not None:
        headers["authorization"] = f"Bearer {auth}"
    return httpx.get(f"{server}{path}", headers=headers, timeout=60)


def _centre(server: str, district: str) -> tuple[float, float]:
    point = data(server, f'{{ district(code: "{district}") {{ labelPoint }} }}')["district"]["labelPoint"]
    return point["coordinates"][0], point["coordinates"][1]


def _villages_in(server: str, box: tuple[float, float, float, float], auth: str = "admin") -> dict[str, dict[str, Any]]:
    edges = data(server, """query($b: [Float!]) { villages(filter: {bbox: $b}, first: 500) { totalCount edges { node {
        code coverage { agentCount informalWorkers activeEnrollments penetration } } } } }""", {"b": list(box)},
                 auth=auth)["villages"]
    assert edges["totalCount"] <= 500
    return {e["node"]["code"]: e["node"]["coverage"] for e in edges["edges"]}


@pytest.mark.parametrize("z", [9, 11])
def test_a_village_tile_has_the_villages_classes_and_figures_graphql_gives(server: str, z: int) -> None:
    lng, lat = _centre(server, "99.01.01")
    x, y = tile_of(lng, lat, z)
    response = fetch_tile(server, f"/tiles/villages/{z}/{x}/{y}.mvt", token("admin"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(response.content)["villages"]
    features = {f["properties"]["code"]: f for f in layer["features"]}
    west, south, east, north = tile_bounds(z, x, y)
    inside = _villages_in(server, (west, south, east, north))
    assert inside and set(inside) <= set(features)  # every village the box intersects is in the tile
    margin = (east - west) * 64 / 4096  # the tile's buffer
    around = _villages_in(server, (west - margin, south - margin, east + margin, north + margin))
    assert set(features) <= set(around)  # and nothing beyond the buffer
    for code, f in features.items():
        figures, p = around[code], f["properties"]
        assert p["agents"] == figures["agentCount"] and p["active_enrollments"] == figures["activeEnrollments"]
        assert p.get("informal_workers") == figures["informalWorkers"]
        assert p["coverage_class"] == expected_class(figures["agentCount"], figures["informalWorkers"],
                                                     figures["activeEnrollments"])
        if figures["penetration"] is not None:
            assert p["penetration"] == pytest.approx(figures["penetration"])


def test_a_region_tile_carries_the_figures_of_its_districts(server: str) -> None:
    lng, lat = _centre(server, "99.01.01")
    z = 8
    x, y = tile_of(lng, lat, z)
    layer = mapbox_vector_tile.decode(fetch_tile(server, f"/tiles/districts/{z}/{x}/{y}.mvt", token("planner")).content)["districts"]
    assert layer["features"]
    for f in layer["features"]:
        p = f["properties"]
        figures = data(server, f'{{ coverage(regionCode: "{p["code"]}") {{ villages coveredVillages coveredShare '
                               f'informalWorkers penetration }} }}')["coverage"]
        assert (p["villages"], p["covered_villages"]) == (figures["villages"], figures["coveredVillages"])
        assert p["covered_share"] == pytest.approx(figures["coveredShare"])


def test_tiles_are_scoped_by_the_token(server: str) -> None:
    lng, lat = _centre(server, "99.01.01")
    z = 7
    x, y = tile_of(lng, lat, z)
    everyone = mapbox_vector_tile.decode(fetch_tile(server, f"/tiles/districts/{z}/{x}/{y}.mvt", token("admin")).content)
    manager = fetch_tile(server, f"/tiles/districts/{z}/{x}/{y}.mvt", token("manager", "99.01"))
    mine = {f["properties"]["code"] for f in mapbox_vector_tile.decode(manager.content).get("districts", {}).get("features", [])}
    all_codes = {f["properties"]["code"] for f in everyone["districts"]["features"]}
    assert mine and all(c.startswith("99.01.") for c in mine) and mine < all_codes
    assert manager.headers["cache-control"].startswith("private")
    agent = fetch_tile(server, f"/tiles/districts/{z}/{x}/{y}.mvt", token("agent", agent="AG-000001"))
    assert agent.status_code == 403 and agent.json()["error"]["code"] == "FORBIDDEN"
    assert fetch_tile(server, f"/tiles/districts/{z}/{x}/{y}.mvt").status_code == 401


def test_agents_and_their_reach_are_a_layer(server: str) -> None:
    lng, lat = _centre(server, "99.01.01")
    z = 10
    x, y = tile_of(lng, lat, z)
    layer = mapbox_vector_tile.decode(fetch_tile(server, f"/tiles/agents/{z}/{x}/{y}.mvt", token("admin")).content)["agents"]
    points = {f["properties"]["code"] for f in layer["features"] if f["properties"]["kind"] == "agent"}
    west, south, east, north = tile_bounds(z, x, y)
    listed = data(server, """query($b: [Float!]) { agents(filter: {bbox: $b}, first: 500) { edges { node { code } } } }""",
                  {"b": [west, south, east, north]})["agents"]["edges"]
    assert {e["node"]["code"] for e in listed} <= points
    assert any(f["properties"]["kind"] == "reach" and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
               for f in layer["features"])


def test_unchanged_tiles_are_not_sent_twice_and_tilejson_describes_each_layer(server: str) -> None:
    lng, lat = _centre(server, "99.01.01")
    x, y = tile_of(lng, lat, 10)
    first = fetch_tile(server, f"/tiles/villages/10/{x}/{y}.mvt", token("admin"))
    again = fetch_tile(server, f"/tiles/villages/10/{x}/{y}.mvt", token("admin"), **{"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert fetch_tile(server, f"/tiles/villages/3/{x >> 7}/{y >> 7}.mvt", token("admin")).status_code == 204  # below minzoom
    spec = fetch_tile(server, "/tiles/villages.json", token("planner")).json()
    assert spec["tilejson"] == "3.0.0" and spec["tiles"][0].endswith("/tiles/villages/{z}/{x}/{y}.mvt")
    assert spec["vector_layers"][0]["id"] == "villages" and "coverage_class" in spec["vector_layers"][0]["fields"]


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/tiles/villages/17/0/0.mvt", 400, "BAD_USER_INPUT"),
    ("/tiles/villages/3/8/0.mvt", 400, "BAD_USER_INPUT"),
    ("/tiles/villages/x/0/0.mvt", 400, "BAD_USER_INPUT"),
    ("/tiles/villages/٣/0/0.mvt", 400, "BAD_USER_INPUT"),
    ("/tiles/villages/99999999999/0/0.mvt", 400, "BAD_USER_INPUT"),
    ("/tiles/secrets/3/0/0.mvt", 404, "NOT_FOUND"),
    ("/tiles/secrets.json", 404, "NOT_FOUND"),
])
def test_bad_tile_requests_are_refused_with_a_code(server: str, path: str, status: int, code: str) -> None:
    response = fetch_tile(server, path, token("admin"))
    assert response.status_code == status and response.json()["error"]["code"] == code
