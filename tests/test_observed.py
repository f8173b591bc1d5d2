"""Observed vs paper reach through HTTP, against pyproj over the enrollments themselves."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from tests.conftest import data, error_codes, fetch, post
from tests.oracle import GEOD

AGENTS = """query($days: Int!, $asOf: Date) { agents(first: 500) { edges { node { code
    observedReachM(withinDays: $days, asOf: $asOf) enrolledVillages(withinDays: $days, asOf: $asOf) { code } } } } }"""


def _enrollment_places(url: str, days: int, as_of: dt.date) -> dict[str, list[tuple[float, float, float, float, str]]]:
    """Per agent code: (base lng, lat, place lng, lat, village) of each enrollment in the window."""
    rows = fetch(url, """SELECT a.code, ST_X(a.location) ax, ST_Y(a.location) ay,
            ST_X(coalesce(e.gps, v.label_point)) px, ST_Y(coalesce(e.gps, v.label_point)) py, e.village_code
        FROM enrollment e JOIN agent a ON a.id = e.agent_id JOIN village v ON v.code = e.village_code
        WHERE e.enrolled_on > $1::date - $2::integer AND e.enrolled_on <= $1::date""", as_of, days)
    places: dict[str, list[tuple[float, float, float, float, str]]] = {}
    for r in rows:
        places.setdefault(r["code"], []).append((r["ax"], r["ay"], r["px"], r["py"], r["village_code"]))
    return places


@pytest.mark.parametrize("days", [30, 365, 3650])
def test_observed_reach_is_the_90th_percentile_of_geodesic_distances_to_the_enrollments(
        server: str, shared_demo_db: str, days: int) -> None:
    as_of = dt.date.today()
    places = _enrollment_places(shared_demo_db, days, as_of)
    got = {e["node"]["code"]: e["node"] for e in data(server, AGENTS, {"days": days, "asOf": as_of.isoformat()})["agents"]["edges"]}
    assert got, "the demo has agents"
    with_enrollments = 0
    for code, agent in got.items():
        mine = places.get(code, [])
        assert {v["code"] for v in agent["enrolledVillages"]} == {p[4] for p in mine}
        if not mine:
            assert agent["observedReachM"] is None
            continue
        with_enrollments += 1
        metres = [GEOD.inv(ax, ay, px, py)[2] for ax, ay, px, py, _ in mine]
        assert agent["observedReachM"] == pytest.approx(float(np.percentile(metres, 90)), abs=0.01)
    if days >= 365:
        assert with_enrollments > 10, "the demo's enrollments must reach this window for the test to mean anything"


def _paper_only(url: str, region: str, days: int) -> set[str]:
    """Villages an active agent reaches where none of the active agents reaching it enrolled anyone in the window."""
    rows = fetch(url, """SELECT v.code,
            EXISTS (SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                    WHERE r.village_code = v.code AND a.status = 'active') AS reached,
            EXISTS (SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id JOIN enrollment e ON e.agent_id = a.id
                    WHERE r.village_code = v.code AND a.status = 'active' AND e.village_code = v.code
                      AND e.enrolled_on > CURRENT_DATE - $2::integer AND e.enrolled_on <= CURRENT_DATE) AS seen
        FROM village v WHERE v.code LIKE $1 || '.%'""", region, days)
    return {r["code"] for r in rows if r["reached"] and not r["seen"]}


@pytest.mark.parametrize("days", [30, 180])
def test_paper_only_gaps_and_observed_coverage_match_the_enrollments(server: str, shared_demo_db: str, days: int) -> None:
    expected = _paper_only(shared_demo_db, "99.01", days)
    gaps = data(server, """query($d: Int!) { coverageGaps(regionCode: "99.01", kind: PAPER_ONLY, observedWithinDays: $d,
        first: 500) { totalCount edges { node { reasons village { code } coverage { observed(withinDays: $d) covered } } } } }""",
                {"d": days})["coverageGaps"]
    nodes = [e["node"] for e in gaps["edges"]]
    assert {n["village"]["code"] for n in nodes} == expected and gaps["totalCount"] == len(expected)
    assert all("PAPER_ONLY" in n["reasons"] and n["coverage"]["covered"] and not n["coverage"]["observed"] for n in nodes)
    villages = data(server, """query($d: Int!) { district(code: "99.01.01") { villages(first: 500) { edges { node { code
        coverage { covered observed(withinDays: $d) } } } } } }""", {"d": days})["district"]["villages"]["edges"]
    assert villages
    for v in villages:
        node = v["node"]
        assert node["coverage"]["observed"] == (node["coverage"]["covered"] and node["code"] not in _paper_only(
            shared_demo_db, "99.01.01", days))
    if days == 180:
        assert 0 < len(expected), "the demo must have villages reached only on paper for this test to mean anything"


@pytest.mark.parametrize(("query", "field"), [
    ('{ agents(first: 1) { edges { node { observedReachM(withinDays: 0) } } } }', "withinDays"),
    ('{ agents(first: 1) { edges { node { enrolledVillages(withinDays: 9999) { code } } } } }', "withinDays"),
    ('{ agents(first: 1) { edges { node { observedReachM(asOf: "2999-01-01") } } } }', "asOf"),
    ('{ coverageGaps(regionCode: "99.01", kind: PAPER_ONLY, observedWithinDays: 4000) { totalCount } }', "observedWithinDays"),
    ('{ village(code: "99.01.01.2001") { coverage { observed(withinDays: -1) } } }', "withinDays"),
])
def test_bad_windows_are_refused_with_their_field(server: str, query: str, field: str) -> None:
    body: dict[str, Any] = post(server, query)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == field
