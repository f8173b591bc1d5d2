"""Coverage edge cases on a hand-built province 98 beside the demo (far from every demo agent).

Positions are placed with pyproj's Geod.fwd, and expected values come from pyproj and Shapely.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import shapely
from shapely.geometry import box

from db.engine import create_engine, create_sessionmaker
from db.writes.agents import move_agent
from tests.conftest import _clone, data, error_codes, fetch, post, running_server
from tests.oracle import GEOD, covered_fraction

REACH = 3000
KM = 1 / 111.32  # degrees of latitude per km, near enough for drawing test squares


def _square(lng: float, lat: float, half_km: float) -> shapely.Polygon:
    return box(lng - half_km * KM, lat - half_km * KM, lng + half_km * KM, lat + half_km * KM)


VILLAGES = {
    "98.01.01.2001": (shapely.MultiPolygon([_square(120.00, -2.0, 1)]), 1000),  # agent at reach - 1 m
    "98.01.01.2002": (shapely.MultiPolygon([_square(120.10, -2.0, 1)]), 800),  # agent at reach + 1 m
    "98.01.01.2003": (shapely.MultiPolygon([_square(120.20, -2.0, 1), _square(120.26, -2.0, 1.4)]), 500),  # islands
    "98.01.01.2004": (None, None),  # no geometry, no estimate
    "98.01.01.2005": (shapely.MultiPolygon([_square(120.40, -2.0, 1)]), 600),  # two agents
    "98.01.01.2006": (shapely.MultiPolygon([_square(120.50, -2.0, 1)]), 700),  # only an inactive agent
    "98.02.01.2001": (shapely.MultiPolygon([_square(125.00, -2.0, 1)]), 900),  # a regency with no agent
}


def _agents() -> list[tuple[str, str, float, float, int, str]]:
    """(code, home village, lng, lat, reach_m, status)."""
    p1 = GEOD.fwd(120.00, -2.0, 90, REACH - 1)
    p2 = GEOD.fwd(120.10, -2.0, 200, REACH + 1)
    return [
        ("EDGE-1", "98.01.01.2001", p1[0], p1[1], REACH, "active"),
        ("EDGE-2", "98.01.01.2002", p2[0], p2[1], REACH, "active"),
        ("EDGE-3", "98.01.01.2003", 120.20, -2.0, 2500, "active"),
        ("EDGE-4", "98.01.01.2005", 120.41, -2.0, REACH, "active"),
        ("EDGE-5", "98.01.01.2005", 120.39, -2.0, REACH, "active"),
        ("EDGE-6", "98.01.01.2006", 120.505, -2.0, REACH, "inactive"),
    ]


async def _build(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO province (code, name) VALUES ('98', 'Tepi')")
            await conn.execute("INSERT INTO regency (code, name, province_code) VALUES ('98.01', 'Tepi Satu', '98'), "
                               "('98.02', 'Tepi Dua', '98')")
            await conn.execute("INSERT INTO district (code, name, regency_code) VALUES ('98.01.01', 'Ujung', '98.01'), "
                               "('98.02.01', 'Sepi', '98.02')")
            for code, (geom, workers) in VILLAGES.items():
                # The label point is the first part's centre, where the test puts agents.
                await conn.execute(
                    "INSERT INTO village (code, name, district_code, geom, label_point, area_km2, informal_workers) "
                    "SELECT $1::text, $1::text, left($1::text, 8), g, ST_Centroid(ST_GeometryN(g, 1)), ST_Area(g::geography) / 1e6, $3 "
                    "FROM (SELECT ST_SetSRID(ST_GeomFromWKB($2), 4326) AS g) s",
                    code, shapely.to_wkb(geom) if geom is not None else None, workers,
                )
            for code, home, lng, lat, reach, status in _agents():
                await conn.execute(
                    "INSERT INTO agent (code, name, home_village_code, location, reach_m, status) "
                    "VALUES ($1, $1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326), $5, $6::agent_status)",
                    code, home, lng, lat, reach, status,
                )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def edge(cluster: object, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):  # type: ignore[arg-type]
        asyncio.run(_build(url))
        with running_server(url, Path(tmp_path_factory.mktemp("edge"))) as server:
            yield url, server


COVERAGE = """query($code: String!) { village(code: $code) { coverage { covered agentCount agentsAnyStatus
    nearestDistanceM nearestAgent { code } coveredFraction informalWorkers activeEnrollments penetration uncoveredWorkers } } }"""


def _coverage(server: str, code: str) -> dict:
    return data(server, COVERAGE, {"code": code})["village"]["coverage"]


def test_one_metre_inside_and_one_metre_outside_the_reach(edge: tuple[str, str]) -> None:
    _, server = edge
    inside, outside = _coverage(server, "98.01.01.2001"), _coverage(server, "98.01.01.2002")
    assert inside["covered"] and inside["agentCount"] == 1
    assert inside["nearestDistanceM"] == pytest.approx(REACH - 1, abs=0.01)
    assert not outside["covered"] and outside["agentCount"] == 0
    assert outside["nearestAgent"]["code"] == "EDGE-2"
    assert outside["nearestDistanceM"] == pytest.approx(REACH + 1, abs=0.01)


def test_island_village_fraction_counts_only_the_reached_island(edge: tuple[str, str]) -> None:
    _, server = edge
    got = _coverage(server, "98.01.01.2003")
    geom = VILLAGES["98.01.01.2003"][0]
    expected = covered_fraction(geom, [(120.20, -2.0, 2500)])
    assert 0.2 < expected < 0.5  # the small island is inside the circle, the larger one is not
    assert got["covered"] and got["coveredFraction"] == pytest.approx(expected, abs=0.005)
    served = data(server, '{ village(code: "98.01.01.2003") { geometry } }')["village"]["geometry"]
    assert served["type"] == "MultiPolygon" and len(served["coordinates"]) == 2


def test_village_without_geometry_or_estimate(edge: tuple[str, str]) -> None:
    _, server = edge
    got = _coverage(server, "98.01.01.2004")
    assert got == {
        "covered": False, "agentCount": 0, "agentsAnyStatus": 0, "nearestDistanceM": None, "nearestAgent": None,
        "coveredFraction": None, "informalWorkers": None, "activeEnrollments": 0, "penetration": None,
        "uncoveredWorkers": None,
    }
    gaps = data(server, '{ coverageGaps(regionCode: "98.01", first: 50) { edges { node { village { code } reasons } } } }')
    reasons = {e["node"]["village"]["code"]: e["node"]["reasons"] for e in gaps["coverageGaps"]["edges"]}
    assert reasons["98.01.01.2004"] == ["NO_AGENT_WITHIN_REACH", "NO_ESTIMATE"]
    assert list(reasons)[-1] == "98.01.01.2004"  # unranked, after every ranked village


def test_two_agents_and_an_inactive_one(edge: tuple[str, str]) -> None:
    _, server = edge
    assert _coverage(server, "98.01.01.2005")["agentCount"] == 2
    inactive = _coverage(server, "98.01.01.2006")
    assert not inactive["covered"] and inactive["agentsAnyStatus"] == 1
    gaps = data(server, '{ coverageGaps(regionCode: "98.01.01", kind: UNREACHED) { edges { node { village { code } reasons } } } }')
    reasons = {e["node"]["village"]["code"]: e["node"]["reasons"] for e in gaps["coverageGaps"]["edges"]}
    assert reasons["98.01.01.2006"][0] == "AGENTS_INACTIVE"
    assert reasons["98.01.01.2002"][0] == "NO_AGENT_WITHIN_REACH"
    assert "98.01.01.2005" not in reasons and "98.01.01.2001" not in reasons


def test_region_summary_of_the_hand_built_province(edge: tuple[str, str]) -> None:
    _, server = edge
    got = data(server, """{ coverage(regionCode: "98") { villages coveredVillages villagesWithoutEstimate
        informalWorkers workersInReach activeAgents children { code villages coveredVillages coveragePct activeAgents } } }""")["coverage"]
    # Covered: 2001 (inside by 1 m), 2003 (island), 2005 (two agents). 2004 has no estimate.
    assert got | {"children": None} == {"villages": 7, "coveredVillages": 3, "villagesWithoutEstimate": 1,
                                        "informalWorkers": 1000 + 800 + 500 + 600 + 700 + 900,
                                        "workersInReach": 1000 + 500 + 600, "activeAgents": 5, "children": None}
    lonely = next(c for c in got["children"] if c["code"] == "98.02")
    assert lonely == {"code": "98.02", "villages": 1, "coveredVillages": 0, "coveragePct": 0.0, "activeAgents": 0}


@pytest.mark.parametrize("query", [
    '{ coverage(regionCode: "97") { villages } }',
    '{ coverage(regionCode: "98.03.01") { villages } }',
    '{ coverageGaps(regionCode: "97.01") { totalCount } }',
    '{ agentWorkload(regionCode: "97.01") { totalCount } }',
    '{ recommendAgentSites(regionCode: "97.01") { rank } }',
    '{ nearestAgents(villageCode: "98.01.01.2999") { distanceM } }',
])
def test_unknown_codes_are_not_found(edge: tuple[str, str], query: str) -> None:
    _, server = edge
    assert error_codes(post(server, query)) == ["NOT_FOUND"]


def test_moving_an_agent_changes_the_covered_set_immediately(edge: tuple[str, str]) -> None:
    """Through the library function mutations will call; the API sees it on the next request."""
    url, server = edge
    agent_id = fetch(url, "SELECT id FROM agent WHERE code = 'EDGE-2'")[0]["id"]
    before = _coverage(server, "98.01.01.2002")
    lng, lat, _ = GEOD.fwd(120.10, -2.0, 200, REACH - 500)

    async def move() -> bool:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await move_agent(session, agent_id, lng, lat)
        finally:
            await engine.dispose()

    assert not before["covered"]
    assert asyncio.run(move())
    after = _coverage(server, "98.01.01.2002")
    assert after["covered"] and after["nearestDistanceM"] == pytest.approx(REACH - 500, abs=0.01)
    district = data(server, '{ coverage(regionCode: "98.01.01") { coveredVillages } }')["coverage"]
    assert district["coveredVillages"] == 4


def test_no_gap_matches_gives_an_empty_page_and_zero_total(edge: tuple[str, str]) -> None:
    _, server = edge
    got = data(server, '{ coverageGaps(regionCode: "98", minUncoveredWorkers: 1000000, includeWithoutEstimate: false) '
                       '{ totalCount edges { cursor } pageInfo { hasNextPage endCursor } } }')["coverageGaps"]
    assert got == {"totalCount": 0, "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
