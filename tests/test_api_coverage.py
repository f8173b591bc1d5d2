"""Coverage analytics through HTTP, compared with an independent pyproj/Shapely computation.

The demo is random (seeded) data; raw rows are read with plain SQL and everything expected is
computed in `tests/oracle.py`, never by the code under test.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

import pytest
import shapely

from tests.conftest import data, fetch, token
from tests.oracle import (
    GEOD,
    OVillageCoverage,
    World,
    covered_fraction,
    distances,
    reach_pairs,
)


@pytest.fixture(scope="module")
def nominal(shared_demo_db: str) -> World:
    return World(shared_demo_db)


@pytest.fixture(scope="module")
def effective(shared_demo_db: str) -> World:
    return World(shared_demo_db, days=60)


VILLAGE_COVERAGE = """query($days: Int) { villages(first: 500) { edges { node { code
    coverage(activeWithinDays: $days) { covered agentCount agentsAnyStatus nearestDistanceM nearestAgent { code }
      informalWorkers activeEnrollments penetration uncoveredWorkers } } } } }"""


@pytest.mark.parametrize("days", [None, 60])
def test_village_coverage_equals_the_oracle(server: str, nominal: World, effective: World, days: int | None) -> None:
    world = nominal if days is None else effective
    served = {e["node"]["code"]: e["node"]["coverage"]
              for e in data(server, VILLAGE_COVERAGE, {"days": days})["villages"]["edges"]}
    assert set(served) == set(world.coverage)
    assert {c for c, v in served.items() if v["covered"]} == {c for c, v in world.coverage.items() if v.covered}
    assert any(not v.covered for v in world.coverage.values()), "the demo should have gaps"
    for code, expected in world.coverage.items():
        got = served[code]
        assert got["agentCount"] == expected.agent_count, code
        assert (got["agentsAnyStatus"] > 0) == expected.any_agent, code
        assert got["nearestAgent"]["code"] == world.code_of[expected.nearest_id], code
        assert got["nearestDistanceM"] == pytest.approx(expected.nearest_m, abs=1.0)
        assert got["uncoveredWorkers"] == expected.uncovered_workers
        assert got["penetration"] == pytest.approx(expected.penetration) if expected.penetration is not None else got["penetration"] is None
    if days is not None:  # effective coverage is what fewer agents reach
        assert sum(v.covered for v in effective.coverage.values()) < sum(v.covered for v in nominal.coverage.values())


REGION = """query($code: String, $days: Int) { coverage(regionCode: $code, activeWithinDays: $days) {
    code villages coveredVillages coveredShare coveragePct villagesWithoutEstimate informalWorkers workersInReach
    activeEnrollments penetration uncoveredWorkers activeAgents enrollmentsPerAgent
    children { code name villages coveredVillages villagesWithoutEstimate informalWorkers workersInReach activeEnrollments
               uncoveredWorkers activeAgents region { code } } } }"""


def _expected(world: World, prefix: str) -> dict[str, Any]:
    vs = [v for v in world.villages if v.code.startswith(prefix)]
    cov = [world.coverage[v.code] for v in vs]
    estimated = [v for v in vs if v.informal_workers is not None]
    return {
        "villages": len(vs), "coveredVillages": sum(c.covered for c in cov),
        "villagesWithoutEstimate": len(vs) - len(estimated),
        "informalWorkers": sum(v.informal_workers for v in estimated),
        "workersInReach": sum(v.informal_workers for v in estimated if world.coverage[v.code].covered),
        "activeEnrollments": sum(v.active_enrollments for v in vs),
        "uncoveredWorkers": sum(c.uncovered_workers or 0 for c in cov),
        "activeAgents": sum(1 for a in world.agents if a.active and world.home[a.id].startswith(prefix)),
    }


@pytest.mark.parametrize(("code", "days"), [("99", None), ("99.01", 60), (None, None), ("99.01.01", None)])
def test_region_summaries_are_sums_over_villages(server: str, nominal: World, effective: World, code: str | None, days: int | None) -> None:
    world = nominal if days is None else effective
    got = data(server, REGION, {"code": code, "days": days})["coverage"]
    prefix = "" if code is None else code + "."
    expected = _expected(world, prefix)
    assert {k: got[k] for k in expected} == expected
    assert got["coveredShare"] == pytest.approx(expected["coveredVillages"] / expected["villages"])
    assert got["coveragePct"] == pytest.approx(100 * got["coveredShare"])  # deprecated, kept for old clients
    estimated_enrollments = sum(v.active_enrollments for v in world.villages
                                if v.code.startswith(prefix) and v.informal_workers is not None)
    assert got["penetration"] == pytest.approx(estimated_enrollments / expected["informalWorkers"])
    children = {c["code"]: c for c in got["children"]}
    width = {None: 2, "99": 5, "99.01": 8, "99.01.01": 13}[code]
    assert set(children) == {v.code[:width] for v in world.villages if v.code.startswith(prefix)}
    for child, figures in children.items():
        want = _expected(world, child + "." if width < 13 else child)
        assert {k: figures[k] for k in want} == want, child
        assert figures["region"]["code"] == child


def test_covered_fraction_matches_shapely_within_half_a_point(server: str, shared_demo_db: str, nominal: World) -> None:
    """Villages at the edge of coverage (the interesting fractions), against geodesic circles in Shapely."""
    rows = fetch(shared_demo_db, "SELECT code, ST_AsBinary(geom) g FROM village ORDER BY code")
    geoms = {r["code"]: shapely.from_wkb(r["g"]) for r in rows}
    active = [a for a in nominal.agents if a.active]
    sample = sorted(geoms)[::7]
    query = "query($code: String!) { village(code: $code) { coverage { coveredFraction } } }"
    partial = 0
    for code in sample:
        poly = geoms[code]
        c = poly.centroid
        near = [(a.lng, a.lat, a.reach_m) for a, d in zip(active, distances(c.x, c.y, active), strict=True)
                if d <= a.reach_m + 20_000]
        expected = covered_fraction(poly, near)
        got = data(server, query, {"code": code})["village"]["coverage"]["coveredFraction"]
        assert got == pytest.approx(expected, abs=0.005), code
        partial += 0.02 < expected < 0.98
    assert partial >= 3, "the sample should include partly covered villages"


GAPS = """query($code: String, $kind: GapKind!, $below: Float!, $min: Int!, $after: String, $unknown: Boolean!) {
  coverageGaps(regionCode: $code, kind: $kind, penetrationBelow: $below, minUncoveredWorkers: $min,
               includeWithoutEstimate: $unknown, first: 40, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { reasons village { code } coverage { uncoveredWorkers nearestDistanceM } } } } }"""


def _all_gaps(server: str, variables: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    nodes, after, total = [], None, -1
    while True:
        page = data(server, GAPS, {**variables, "after": after})["coverageGaps"]
        nodes += [e["node"] for e in page["edges"]]
        total = page["totalCount"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes, total
        after = page["pageInfo"]["endCursor"]


def _oracle_reasons(c: OVillageCoverage, iw: int | None, below: float) -> list[str]:
    reasons = []
    if not c.covered:
        reasons.append("AGENTS_INACTIVE" if c.any_agent else "NO_AGENT_WITHIN_REACH")
    if c.penetration is not None and c.penetration < below:
        reasons.append("LOW_PENETRATION")
    if iw is None:
        reasons.append("NO_ESTIMATE")
    return reasons


@pytest.mark.parametrize(("kind", "below", "minimum", "unknown"), [
    ("UNREACHED", 0.1, 0, True), ("UNDERPENETRATED", 0.02, 300, True), ("ALL", 0.03, 0, False),
])
def test_gaps_ranked_and_explained_like_the_oracle(
    server: str, nominal: World, kind: str, below: float, minimum: int, unknown: bool
) -> None:
    variables = {"code": "99", "kind": kind, "below": below, "min": minimum, "unknown": unknown}
    nodes, total = _all_gaps(server, variables)
    expected = []
    for v in nominal.villages:
        c = nominal.coverage[v.code]
        low = v.informal_workers is None or (c.penetration is not None and c.penetration < below)
        if not {"UNREACHED": not c.covered, "UNDERPENETRATED": low, "ALL": not c.covered or low}[kind]:
            continue
        if v.informal_workers is None and not unknown:
            continue
        if v.informal_workers is not None and (c.uncovered_workers or 0) < minimum:
            continue
        rank = -c.uncovered_workers if v.informal_workers is not None else math.inf
        expected.append((rank, v.code, _oracle_reasons(c, v.informal_workers, below)))
    expected.sort()
    assert expected, "this gap query should match villages in the demo"
    assert [n["village"]["code"] for n in nodes] == [code for _, code, _ in expected]
    assert [n["reasons"] for n in nodes] == [reasons for _, _, reasons in expected]
    assert total == len(expected)
    seen_unknown = False
    for n in nodes:  # unranked villages come last
        seen_unknown = seen_unknown or n["coverage"]["uncoveredWorkers"] is None
        assert not (seen_unknown and n["coverage"]["uncoveredWorkers"] is not None)


UNREACHED = """query($days: Int, $after: String) {
  coverageGaps(regionCode: "99", kind: UNREACHED, activeWithinDays: $days, first: 100, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { village { code } } } } }"""


@pytest.mark.parametrize("days", [None, 60])
def test_unreached_gaps_are_the_villages_the_oracle_finds_unreached(server: str, nominal: World, effective: World,
                                                                   days: int | None) -> None:
    """Without an activity window the statement reads the counter of active agents (migration
    0014); with one, the reach pairs and recent enrollments: both against the oracle."""
    world = nominal if days is None else effective
    found, after = [], None
    while True:
        page = data(server, UNREACHED, {"days": days, "after": after})["coverageGaps"]
        found += [e["node"]["village"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(found) == sorted(code for code, c in world.coverage.items() if not c.covered)
    assert len(found) == len(set(found))


NEAREST = """query($village: String, $point: LngLatInput, $k: Int!, $max: Float) {
  nearestAgents(villageCode: $village, point: $point, k: $k, maxDistanceM: $max) { distanceM agent { code } } }"""


@pytest.mark.parametrize("k", [1, 5, 12])
def test_nearest_agents_equal_brute_force_geodesic(server: str, nominal: World, k: int) -> None:
    active = [a for a in nominal.agents if a.active]
    points = [(v.lng, v.lat) for v in nominal.villages[::25]] + [(110.41, -7.83), (95.3, 5.5)]
    for lng, lat in points:
        d = distances(lng, lat, active)
        order = sorted(range(len(active)), key=lambda i: (d[i], active[i].id))[:k]
        got = data(server, NEAREST, {"point": {"lng": lng, "lat": lat}, "k": k})["nearestAgents"]
        assert [g["agent"]["code"] for g in got] == [nominal.code_of[active[i].id] for i in order]
        assert [g["distanceM"] for g in got] == pytest.approx([d[i] for i in order], abs=1.0)
    village = nominal.villages[3]
    by_code = data(server, NEAREST, {"village": village.code, "k": 3, "max": 4000})["nearestAgents"]
    d = distances(village.lng, village.lat, active)
    assert [g["distanceM"] for g in by_code] == pytest.approx(sorted(x for x in d if x <= 4000)[:3], abs=1.0)


def test_a_manager_finds_only_agents_in_scope_and_cannot_trilaterate_others(server: str, nominal: World) -> None:
    scope = "99.01"
    mine = [a for a in nominal.agents if a.active and nominal.home[a.id].startswith(scope + ".")]
    others = [a for a in nominal.agents if a.active and not nominal.home[a.id].startswith(scope + ".")]
    assert mine and others
    manager = token("manager", scope)
    for other in others[:4]:  # standing on an out-of-scope agent's base: it must not be the answer
        got = data(server, NEAREST, {"point": {"lng": other.lng, "lat": other.lat}, "k": 5}, auth=manager)["nearestAgents"]
        d = distances(other.lng, other.lat, mine)
        order = sorted(range(len(mine)), key=lambda i: (d[i], mine[i].id))[:5]
        assert [g["agent"]["code"] for g in got] == [nominal.code_of[mine[i].id] for i in order]
        assert [g["distanceM"] for g in got] == pytest.approx([d[i] for i in order], abs=1.0)
        assert all(g["distanceM"] > 0.5 for g in got)  # no zero distance betrays the agent standing there


def test_recommended_sites_reach_what_they_claim_and_greedy_is_near_exact(server: str, nominal: World) -> None:
    query = """query($exact: Boolean!) { recommendAgentSites(regionCode: "99", count: 4, reachM: 6000, exact: $exact) {
        rank villageCode lng lat newlyReachedWorkers cumulativeWorkers } }"""
    greedy = data(server, query, {"exact": False})["recommendAgentSites"]
    exact = data(server, query, {"exact": True})["recommendAgentSites"]
    demand = [v for v in nominal.villages
              if not nominal.coverage[v.code].covered and (nominal.coverage[v.code].uncovered_workers or 0) > 0]
    assert demand, "the demo should have unreached workers"
    for sites in (greedy, exact):
        reached: set[str] = set()
        for site in sites:
            _, _, d = GEOD.inv([site["lng"]] * len(demand), [site["lat"]] * len(demand),
                               [v.lng for v in demand], [v.lat for v in demand])
            new = {v.code for v, x in zip(demand, d, strict=True) if x <= 6000} - reached
            reached |= new
            assert site["newlyReachedWorkers"] == sum(nominal.coverage[c].uncovered_workers for c in new)
            assert site["cumulativeWorkers"] == sum(nominal.coverage[c].uncovered_workers for c in reached)
    best, quick = exact[-1]["cumulativeWorkers"], greedy[-1]["cumulativeWorkers"]
    assert best >= quick >= (1 - 1 / math.e) * best
    assert [s["rank"] for s in greedy] == list(range(1, len(greedy) + 1))


def test_workload_figures_equal_the_oracle(server: str, shared_demo_db: str, nominal: World) -> None:
    query = """{ agentWorkload(regionCode: "99", first: 500, overloadAbove: 2500) { totalCount edges { node {
        agent { code } villagesInReach informalWorkersInReach workersShare overlapShare overloaded heavyOverlap
        enrollments30Days enrollments90Days countsAsActive } } } }"""
    got = data(server, query)["agentWorkload"]
    assert got["totalCount"] == len(nominal.agents)
    recent = defaultdict(list)
    today = dt.date.today()  # now, not when the suite was collected: it may have started before midnight
    for r in fetch(shared_demo_db, "SELECT agent_id, enrolled_on FROM enrollment"):
        recent[r["agent_id"]].append((today - r["enrolled_on"]).days)
    pairs = reach_pairs(nominal.villages, nominal.agents)
    reached_by: defaultdict[int, list[str]] = defaultdict(list)
    reaching: defaultdict[str, set[int]] = defaultdict(set)
    for agent_id, code in pairs:
        reached_by[agent_id].append(code)
        reaching[code].add(agent_id)
    counting = {a.id for a in nominal.agents if a.active}
    agent_of = {c: i for i, c in nominal.code_of.items()}
    iw = {v.code: v.informal_workers for v in nominal.villages}
    shares = []
    for edge in (e["node"] for e in got["edges"]):
        agent_id = agent_of[edge["agent"]["code"]]
        reached = reached_by[agent_id]
        share = sum(iw[c] / (len((reaching[c] & counting) - {agent_id}) + 1) for c in reached if iw[c] is not None)
        assert edge["villagesInReach"] == len(reached)
        assert edge["informalWorkersInReach"] == sum(iw[c] or 0 for c in reached)
        assert edge["workersShare"] == pytest.approx(share)
        assert edge["overloaded"] == (share > 2500)
        assert edge["enrollments30Days"] == sum(1 for x in recent[agent_id] if 0 <= x < 30)
        assert edge["enrollments90Days"] == sum(1 for x in recent[agent_id] if 0 <= x < 90)
        assert edge["countsAsActive"] == (agent_id in counting)
        shares.append(edge["workersShare"])
    assert shares == sorted(shares, reverse=True)
