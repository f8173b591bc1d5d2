"""Filters (region code, name, status, bbox, intersects, near) and geometry options.

Expected results come from Shapely and pyproj on geometries read straight from the database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import asyncpg
import pytest
import shapely
from graphql import parse
from pyproj import Geod
from shapely.geometry import box, mapping, shape

from compiler.execute import compile_operation
from compiler.plan import plan_operation
from db.access import Role, Viewer
from schema import schema as api_schema
from tests.conftest import data, error_codes, fetch, post

GEOD = Geod(ellps="WGS84")
VILLAGES = """query($f: RegionFilter) { villages(filter: $f, first: 500) {
    totalCount edges { distanceM node { code } } } }"""
AGENTS = """query($f: AgentFilter) { agents(filter: $f, first: 500) {
    totalCount edges { distanceM node { code status } } } }"""


@pytest.fixture(scope="module")
def villages(shared_demo_db: str) -> list[dict[str, Any]]:
    rows = fetch(shared_demo_db, "SELECT code, name, ST_AsBinary(geom) g, ST_X(label_point) x, ST_Y(label_point) y FROM village")
    return [{**dict(r), "shape": shapely.from_wkb(r["g"])} for r in rows]


def listed(result: dict[str, Any]) -> list[str]:
    return [e["node"]["code"] for e in result["edges"]]


def test_region_code_at_every_level(server: str, villages: list[dict[str, Any]]) -> None:
    sample = villages[len(villages) // 2]["code"]
    for prefix in (sample[:2], sample[:5], sample[:8], sample):
        result = data(server, VILLAGES, {"f": {"regionCode": prefix}})["villages"]
        expected = sorted(v["code"] for v in villages if v["code"] == prefix or v["code"].startswith(prefix + "."))
        assert listed(result) == expected and result["totalCount"] == len(expected)
    assert data(server, VILLAGES, {"f": {"regionCode": "98"}})["villages"]["totalCount"] == 0


def test_name_contains_is_case_insensitive_and_literal(server: str, villages: list[dict[str, Any]]) -> None:
    name = villages[0]["name"]
    part = name[1:4].upper()
    expected = sorted(v["code"] for v in villages if part.lower() in v["name"].lower())
    assert listed(data(server, VILLAGES, {"f": {"nameContains": part}})["villages"]) == expected
    assert data(server, VILLAGES, {"f": {"nameContains": "%"}})["villages"]["totalCount"] == 0  # not a wildcard


def test_status_filter(server: str, shared_demo_db: str) -> None:
    counts = {r["status"]: r["n"] for r in fetch(shared_demo_db, "SELECT status::text, count(*) n FROM agent GROUP BY 1")}
    for status in ("ACTIVE", "INACTIVE"):
        result = data(server, AGENTS, {"f": {"status": status}})["agents"]
        assert result["totalCount"] == counts.get(status.lower(), 0)
        assert {e["node"]["status"] for e in result["edges"]} <= {status}
    assert counts.get("inactive", 0) > 0


def test_bbox_matches_shapely(server: str, villages: list[dict[str, Any]]) -> None:
    xs = sorted(v["x"] for v in villages)
    ys = sorted(v["y"] for v in villages)
    area = [xs[len(xs) // 3], ys[len(ys) // 3], xs[2 * len(xs) // 3], ys[2 * len(ys) // 3]]
    expected = sorted(v["code"] for v in villages if v["shape"].intersects(box(*area)))
    result = data(server, VILLAGES, {"f": {"bbox": area}})["villages"]
    assert listed(result) == expected and 0 < len(expected) < len(villages)


def test_intersects_matches_shapely(server: str, villages: list[dict[str, Any]]) -> None:
    centre = villages[0]["shape"].centroid
    triangle = shapely.Polygon([(centre.x, centre.y), (centre.x + 0.2, centre.y + 0.02), (centre.x + 0.05, centre.y + 0.2)])
    expected = sorted(v["code"] for v in villages if v["shape"].intersects(triangle))
    result = data(server, VILLAGES, {"f": {"intersects": mapping(triangle)}})["villages"]
    assert listed(result) == expected and len(expected) > 1
    line = {"type": "LineString", "coordinates": [[centre.x, centre.y], [centre.x + 0.3, centre.y]]}
    expected_line = sorted(v["code"] for v in villages if v["shape"].intersects(shape(line)))
    assert listed(data(server, VILLAGES, {"f": {"intersects": line}})["villages"]) == expected_line


def test_near_orders_by_geodesic_distance(server: str, villages: list[dict[str, Any]]) -> None:
    centre = villages[7]
    radius = 15_000.0
    distances = {v["code"]: GEOD.inv(centre["x"], centre["y"], v["x"], v["y"])[2] for v in villages}
    expected = sorted((d, c) for c, d in distances.items() if d <= radius)
    result = data(server, VILLAGES, {"f": {"near": {"lng": centre["x"], "lat": centre["y"], "radiusM": radius}}})["villages"]
    assert listed(result) == [c for _, c in expected] and result["totalCount"] == len(expected) > 3
    for edge, (distance, _) in zip(result["edges"], expected):
        assert edge["distanceM"] == pytest.approx(distance, abs=0.01)
    page = data(server, """query($f: RegionFilter) { villages(filter: $f, first: 2) { pageInfo { endCursor } } }""",
                {"f": {"near": {"lng": centre["x"], "lat": centre["y"], "radiusM": radius}}})["villages"]
    rest = data(server, """query($f: RegionFilter, $a: String) { villages(filter: $f, first: 500, after: $a) {
        edges { node { code } } } }""", {"f": {"near": {"lng": centre["x"], "lat": centre["y"], "radiusM": radius}},
                                         "a": page["pageInfo"]["endCursor"]})["villages"]
    assert listed(rest) == [c for _, c in expected][2:]


def test_agents_near_and_enrollments_by_area(server: str, shared_demo_db: str, villages: list[dict[str, Any]]) -> None:
    agents = fetch(shared_demo_db, "SELECT code, ST_X(location) x, ST_Y(location) y FROM agent")
    lng, lat = agents[0]["x"], agents[0]["y"]
    expected = sorted((GEOD.inv(lng, lat, a["x"], a["y"])[2], a["code"]) for a in agents)
    expected = [c for d, c in expected if d <= 20_000]
    near = data(server, AGENTS, {"f": {"near": {"lng": lng, "lat": lat, "radiusM": 20_000}}})["agents"]
    assert listed(near) == expected
    district = fetch(shared_demo_db, "SELECT ST_AsBinary(geom) g FROM district ORDER BY code LIMIT 1")[0]
    # Shrunk a little so that villages merely touching the outline do not hinge on rounding.
    area = shapely.from_wkb(district["g"]).buffer(-0.001).simplify(0.0005)
    per_village = {r["village_code"]: r["n"] for r in fetch(
        shared_demo_db, "SELECT village_code, count(*) n FROM enrollment GROUP BY 1")}
    expected = sum(per_village.get(v["code"], 0) for v in villages if v["shape"].intersects(area))
    result = data(server, "query($f: EnrollmentFilter) { enrollments(filter: $f) { totalCount } }",
                  {"f": {"intersects": mapping(area)}})
    assert result["enrollments"]["totalCount"] == expected > 0


BAD_FILTERS = [
    ({"regionCode": "34-71"}, "filter.regionCode", "not a region code"),
    ({"nameContains": "  "}, "filter.nameContains", "1 to 100"),
    ({"bbox": [110, -8, 111]}, "filter.bbox", "[minLng, minLat, maxLng, maxLat]"),
    ({"bbox": [111, -8, 110, -7]}, "filter.bbox", "minLng must be below maxLng"),
    ({"bbox": [-8, 110, -7, 111]}, "filter.bbox", "latitude 110"),
    ({"near": {"lng": 110, "lat": -8, "radiusM": 0}}, "filter.near.radiusM", "above 0"),
    ({"near": {"lng": 200, "lat": -8, "radiusM": 10}}, "filter.near", "longitude 200"),
    ({"intersects": {"type": "Polygon", "coordinates": [[[110, -8], [111, -8], [111, -7], [110, -7.5]]]}},
     "filter.intersects", "not closed"),
    ({"intersects": {"type": "Polygon", "coordinates": [[[110, -8], [111, -8], [110, -8]]]}},
     "filter.intersects", "at least 4 positions"),
    ({"intersects": {"type": "Circle", "coordinates": [110, -8]}}, "filter.intersects", "type must be one of"),
    ({"intersects": {"type": "Point", "coordinates": [110, -95]}}, "filter.intersects", "latitude -95"),
    ({"intersects": {"type": "Point", "coordinates": ["110", -8]}}, "filter.intersects", "position"),
    ({"intersects": {"type": "Polygon", "coordinates": [[[110, -8], [111, -7], [111, -8], [110, -7], [110, -8]]]}},
     "filter.intersects", "Self-intersection"),
    ({"intersects": {"type": "MultiPoint", "coordinates": [[110 + i * 1e-5, -8] for i in range(100_001)]}},
     "filter.intersects", "100001 vertices"),
]


@pytest.mark.parametrize("filter, field, message", BAD_FILTERS)
def test_bad_filters_are_bad_user_input_naming_the_field(server: str, filter: dict, field: str, message: str) -> None:
    body = post(server, VILLAGES, {"f": filter})
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == field and message in body["errors"][0]["message"]


def test_geojson_scalar_rejects_non_objects(server: str) -> None:
    body = post(server, VILLAGES, {"f": {"intersects": "POLYGON((0 0, 1 0, 1 1, 0 0))"}})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "GeoJSON geometry must be an object" in body["errors"][0]["message"]


def test_simplified_geometry_is_lighter_valid_and_close(server: str, villages: list[dict[str, Any]]) -> None:
    query = """query($c: String!, $s: Float!, $p: Int!) { village(code: $c) { geometry(simplifyM: $s, precision: $p) } }"""
    village = max(villages, key=lambda v: shapely.get_num_coordinates(v["shape"]))
    full = shape(data(server, query, {"c": village["code"], "s": 0, "p": 7})["village"]["geometry"])
    light = data(server, query, {"c": village["code"], "s": 500, "p": 4})["village"]["geometry"]
    simplified = shape(light)
    assert light["type"] == "MultiPolygon"
    assert simplified.is_valid and shapely.get_num_coordinates(simplified) < shapely.get_num_coordinates(full)
    assert full.hausdorff_distance(simplified) < 500 / 111_320 * 1.05 + 1e-4  # tolerance in degrees, plus rounding
    coordinates = json.dumps(light["coordinates"])
    assert all(len(n.split(".")[1]) <= 4 for n in coordinates.replace("[", " ").replace("]", " ").replace(",", " ").split() if "." in n)
    for bad, field in [({"s": -1, "p": 7}, "simplifyM"), ({"s": 0, "p": 16}, "precision")]:
        body = post(server, query, {"c": village["code"], **bad})
        assert error_codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["field"] == field


def compiled(query: str, viewer: Viewer) -> tuple[str, list[Any]]:
    """The statement the server sends for `query` and its parameters."""
    sql, build = compile_operation(plan_operation(api_schema._schema, parse(query), None, {}), viewer)
    return build.params.finish(sql)


def _plan(url: str, statement: tuple[str, list[Any]], index: str) -> str:
    """EXPLAIN of a statement when `index` is the only index of its table and sequential scans
    are off (inside a transaction that is rolled back): the plan can then only use the index, and
    shows an Index Cond on it only if the predicate can use it. Statistics cannot flip this."""
    sql, params = statement

    async def go() -> str:
        conn = await asyncpg.connect(url)
        transaction = conn.transaction()
        await transaction.start()
        try:
            table = await conn.fetchval("SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = $1::regclass", index)
            others = await conn.fetch("""
                SELECT i.indexrelid::regclass::text AS name, c.conname FROM pg_index i
                LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                WHERE i.indrelid = $1::regclass AND i.indexrelid <> $2::regclass""", table, index)
            for other in others:
                if other["conname"]:
                    await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{other["conname"]}" CASCADE')
                else:
                    await conn.execute(f"DROP INDEX {other['name']}")
            await conn.execute("SET LOCAL enable_seqscan = off")
            return "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *params))
        finally:
            await transaction.rollback()
            await conn.close()

    return asyncio.run(go())


def uses_index(url: str, statement: tuple[str, list[Any]], index: str) -> bool:
    """Whether the plan scans `index` with an Index Cond (not a full scan of it)."""
    lines = _plan(url, statement, index).splitlines()
    for i, line in enumerate(lines):
        if "Scan" in line and (f"using {index} " in line or f"on {index} " in line):
            details = itertools.takewhile(lambda n: "->" not in n, lines[i + 1:])
            return any("Index Cond" in n for n in details)
    return False


ADMIN = Viewer("t", Role.ADMIN)


def test_the_index_check_can_fail(shared_demo_db: str) -> None:
    by_name = compiled('{ villages(filter: {nameContains: "a"}) { edges { node { code } } } }', ADMIN)
    assert not uses_index(shared_demo_db, by_name, "village_code_pattern_idx")


@pytest.mark.parametrize("filter, index", [
    ("{bbox: [128.0, -7.0, 128.5, -6.5]}", "village_geom_idx"),
    ('{intersects: {type: "Point", coordinates: [128.1, -6.6]}}', "village_geom_idx"),
    ("{near: {lng: 128.1, lat: -6.6, radiusM: 5000}}", "village_label_point_geog_idx"),
    ('{regionCode: "99.01"}', "village_code_pattern_idx"),
])
def test_village_filters_use_their_indexes(shared_demo_db: str, filter: str, index: str) -> None:
    statement = compiled("{ villages(filter: %s) { edges { node { code } } } }" % filter, ADMIN)
    assert uses_index(shared_demo_db, statement, index), _plan(shared_demo_db, statement, index)


def test_agent_filters_and_manager_scope_use_their_indexes(shared_demo_db: str) -> None:
    manager = Viewer("test", Role.MANAGER, ("99.01",))
    near = compiled("{ agents(filter: {near: {lng: 128.1, lat: -6.6, radiusM: 5000}}) { edges { node { code } } } }", manager)
    assert uses_index(shared_demo_db, near, "agent_location_geog_idx")
    assert uses_index(shared_demo_db, near, "agent_home_village_code_pattern_idx")
    bbox = compiled("{ agents(filter: {bbox: [128.0, -7.0, 128.5, -6.5]}) { edges { node { code } } } }", ADMIN)
    assert uses_index(shared_demo_db, bbox, "agent_location_idx")
    scoped = compiled("{ agents { edges { node { code } } } }", manager)
    assert uses_index(shared_demo_db, scoped, "agent_home_village_code_pattern_idx")
