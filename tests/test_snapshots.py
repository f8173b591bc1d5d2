"""Coverage snapshots through HTTP: what changed between two snapshots (and a snapshot and today)
equals the difference the test computes itself from the two states it read, with the causes the
test itself made; the trend equals the test's own sums; bad input refused; the CLI command."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import JWT_SECRET, NIK_KEY, _clone, data, error_codes, fetch, post, running_server, token
from tests.oracle import GEOD

SNAP = "mutation($d: Date, $r: Boolean) { takeSnapshot(asOf: $d, replace: $r) { asOf villages agents takenBy } }"
CHANGES = """query($r: String!, $from: Date!, $to: Date) { coverageChanges(regionCode: $r, from: $from, to: $to,
    first: 500) { totalCount edges { node { code reach agentsBefore agentsAfter penetrationBefore penetrationAfter
    reasons village { code } } } } }"""
TREND = """query($r: String) { coverageTrend(regionCode: $r) { asOf villages coveredVillages informalWorkers
    workersInReach activeEnrollments } }"""
FIRST, SECOND = dt.date(2026, 10, 31), dt.date.today()


@pytest.fixture(scope="module")
def writable(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("snapshots"))) as server:
            yield url, server


def _state(url: str, region: str) -> dict[str, dict[str, Any]]:
    """Per village of the region: active agents reaching it (by code), workers, active enrollments."""
    rows = fetch(url, """SELECT v.code, v.informal_workers,
            (SELECT count(*) FROM enrollment e WHERE e.village_code = v.code AND e.status = 'active') AS enrollments,
            ARRAY(SELECT a.code FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                  WHERE r.village_code = v.code AND a.status = 'active') AS agents
        FROM village v WHERE v.code LIKE $1 || '.%'""", region)
    return {r["code"]: {"workers": r["informal_workers"], "enrollments": r["enrollments"], "agents": set(r["agents"])}
            for r in rows}


def _penetration(v: dict[str, Any]) -> float | None:
    return v["enrollments"] / v["workers"] if v["workers"] else None


def _expected(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], causes: dict[str, str],
              new_estimates: set[str]) -> dict[str, tuple[str | None, list[str]]]:
    """The test's own diff: per changed village, its reach change and reasons."""
    expected = {}
    for code, b in before.items():
        a = after[code]
        reach = "REACHED" if not b["agents"] and a["agents"] else "LOST" if b["agents"] and not a["agents"] else None
        pb, pa = _penetration(b), _penetration(a)
        if reach is None and not (pb is not None and pa is not None and abs(pa - pb) >= 0.05):
            continue
        reasons = {causes[c] for c in b["agents"] ^ a["agents"]}
        if code in new_estimates:
            reasons.add("NEW_ESTIMATE")
        if b["enrollments"] != a["enrollments"]:
            reasons.add("ENROLLMENTS_CHANGED")
        expected[code] = (reach, sorted(reasons))
    return expected


def test_changes_between_snapshots_are_the_changes_made_with_their_causes(writable: tuple[str, str]) -> None:
    url, server = writable
    region = "99.01"
    before = _state(url, region)
    first = data(server, SNAP, {"d": FIRST.isoformat()}, auth="planner")["takeSnapshot"]
    assert first["villages"] == fetch(url, "SELECT count(*) AS n FROM village")[0]["n"] and first["takenBy"] == "test-planner"

    # What the test changes: one agent stopped, one moved 12 km, one recruited, two estimates revised.
    # The agent stopped is the only active one reaching some village, so that village is lost.
    sole = """SELECT a.code, ST_X(a.location) x, ST_Y(a.location) y FROM agent a WHERE a.status = 'active'
        AND a.home_village_code LIKE '99.01.%' AND EXISTS (SELECT 1 FROM agent_reach r WHERE r.agent_id = a.id AND NOT EXISTS (
            SELECT 1 FROM agent_reach o JOIN agent b ON b.id = o.agent_id
            WHERE o.village_code = r.village_code AND b.status = 'active' AND b.id <> a.id)) ORDER BY a.code LIMIT 2"""
    stopped, moved = fetch(url, sole)
    data(server, "mutation($c: String!) { setAgentStatus(code: $c, status: INACTIVE) { code } }", {"c": stopped["code"]})
    lng, lat, _ = GEOD.fwd(moved["x"], moved["y"], 200, 12_000)
    data(server, "mutation($c: String!, $i: AgentChanges!) { updateAgent(code: $c, input: $i) { code } }",
         {"c": moved["code"], "i": {"location": {"lng": lng, "lat": lat}}})
    far = fetch(url, """SELECT code, ST_X(label_point) x, ST_Y(label_point) y FROM village v WHERE code LIKE '99.01.%'
        AND NOT EXISTS (SELECT 1 FROM agent_reach r WHERE r.village_code = v.code) ORDER BY code LIMIT 1""")[0]
    data(server, "mutation($i: AgentInput!) { createAgent(input: $i) { code } }", {"i": {
        "code": "NEW-SNAP", "name": "Agen Baru", "homeVillageCode": far["code"],
        "location": {"lng": far["x"], "lat": far["y"]}, "reachM": 3000}})
    revised = [r["code"] for r in fetch(url, """SELECT code FROM village WHERE code LIKE '99.01.%' AND informal_workers > 50
        ORDER BY code LIMIT 2""")]
    fetch(url, "UPDATE village SET informal_workers = informal_workers * 4, estimate_year = 2026 WHERE code = ANY($1)", revised)
    after = _state(url, region)
    data(server, SNAP, {"d": SECOND.isoformat()}, auth="planner")

    causes = {stopped["code"]: "AGENT_DEACTIVATED", moved["code"]: "AGENT_MOVED", "NEW-SNAP": "NEW_AGENT"}
    expected = _expected(before, after, causes, set(revised))
    assert any(r == "LOST" for r, _ in expected.values()) and any(r == "REACHED" for r, _ in expected.values()), \
        "the changes must lose and reach villages for this test to mean anything"
    for to in (SECOND.isoformat(), None):  # the second snapshot, and today (nothing changed since)
        got = data(server, CHANGES, {"r": region, "from": FIRST.isoformat(), "to": to}, auth="planner")["coverageChanges"]
        nodes = [e["node"] for e in got["edges"]]
        assert {n["code"]: (n["reach"], n["reasons"]) for n in nodes} == expected
        assert got["totalCount"] == len(expected)
        assert [n["reach"] for n in nodes] == sorted((n["reach"] for n in nodes), key=lambda r: {"LOST": 0, "REACHED": 1}.get(r, 2))
        for n in nodes:
            assert n["agentsBefore"] == len(before[n["code"]]["agents"]) and n["agentsAfter"] == len(after[n["code"]]["agents"])
            assert n["village"]["code"] == n["code"]

    trend = data(server, TREND, {"r": region}, auth="planner")["coverageTrend"]
    assert [t["asOf"] for t in trend] == [FIRST.isoformat(), SECOND.isoformat()]
    for point, state in zip(trend, (before, after), strict=True):
        covered = [v for v in state.values() if v["agents"]]
        assert point["villages"] == len(state) and point["coveredVillages"] == len(covered)
        assert point["informalWorkers"] == sum(v["workers"] or 0 for v in state.values())
        assert point["workersInReach"] == sum(v["workers"] or 0 for v in covered)
        assert point["activeEnrollments"] == sum(v["enrollments"] for v in state.values())
    listing = data(server, "{ coverageSnapshots { asOf } }", auth=token("manager", region))["coverageSnapshots"]
    assert [s["asOf"] for s in listing] == [SECOND.isoformat(), FIRST.isoformat()]


@pytest.mark.parametrize(("query", "variables", "auth", "field", "code"), [
    (CHANGES, {"r": "99.01", "from": "2001-01-31"}, "planner", "from", "NOT_FOUND"),
    (CHANGES, {"r": "99.01", "from": "2026-10-31", "to": "2026-10-01"}, "planner", "to", "BAD_USER_INPUT"),
    ("query { coverageChanges(regionCode: \"99.01\", from: \"2026-10-31\", penetrationChange: 0) { totalCount } }",
     {}, "planner", "penetrationChange", "BAD_USER_INPUT"),
    (CHANGES, {"r": "99.01", "from": "2026-10-31"}, "manager-elsewhere", "regionCode", "FORBIDDEN"),
    (CHANGES, {"r": "88.88", "from": "2026-10-31"}, "planner", "regionCode", "NOT_FOUND"),
    # two days ahead: still future if the run, collected before midnight, gets here after it
    (SNAP, {"d": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, "planner", "asOf", "BAD_USER_INPUT"),
    (SNAP, {"d": "2026-01-31"}, "manager", "asOf", "FORBIDDEN"),
    ("{ coverageSnapshots { asOf } }", {}, "agent", "coverageSnapshots", "FORBIDDEN"),
])
def test_bad_snapshot_requests_are_refused(writable: tuple[str, str], query: str, variables: dict[str, Any], auth: str,
                                           field: str, code: str) -> None:
    url, server = writable
    if not fetch(url, "SELECT 1 FROM coverage_snapshot WHERE as_of = '2026-10-31'"):
        data(server, SNAP, {"d": "2026-10-31"}, auth="planner")
    bearer = {"planner": token("planner"), "manager": token("manager", "99.01"),
              "manager-elsewhere": token("manager", "11.01"), "agent": token("agent", agent="AG-000001")}[auth]
    count = fetch(url, "SELECT count(*) AS n FROM coverage_snapshot")[0]["n"]
    body = post(server, query, variables, auth=bearer)
    assert error_codes(body) == [code], body
    assert body["errors"][0]["extensions"]["field"] == field
    assert fetch(url, "SELECT count(*) AS n FROM coverage_snapshot")[0]["n"] == count


def test_a_second_snapshot_of_a_day_is_refused_unless_replaced(writable: tuple[str, str]) -> None:
    url, server = writable
    day = "2026-06-30"
    data(server, SNAP, {"d": day}, auth="planner")
    again = post(server, SNAP, {"d": day}, auth="planner")
    assert error_codes(again) == ["CONFLICT"] and "replace: true" in again["errors"][0]["message"]
    replaced = data(server, SNAP, {"d": day, "r": True}, auth="admin")["takeSnapshot"]
    assert replaced["takenBy"] == "test-admin"
    assert fetch(url, "SELECT count(*) AS n FROM coverage_snapshot WHERE as_of = $1", dt.date(2026, 6, 30))[0]["n"] == 1


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PERISAI_JWT_SECRET": JWT_SECRET, "PERISAI_NIK_KEY": NIK_KEY.decode()}
    return subprocess.run([sys.executable, "-m", "cli.main", "snapshot", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_snapshot_command(writable: tuple[str, str]) -> None:
    url, _ = writable
    made = _cli(url, "--as-of", "2026-05-31")
    assert made.returncode == 0 and "Snapshot" in made.stdout + made.stderr, made.stderr
    assert fetch(url, "SELECT villages FROM coverage_snapshot WHERE as_of = $1", dt.date(2026, 5, 31))[0]["villages"] > 0
    again = _cli(url, "--as-of", "2026-05-31")
    said = again.stdout + again.stderr
    assert again.returncode == 1 and "--replace" in said and "Traceback" not in said
    bad = _cli(url, "--as-of", "31/05/2026")
    said = bad.stdout + bad.stderr
    assert bad.returncode == 1 and "is not a date like" in said and "Traceback" not in said
    assert _cli(url, "--as-of", "2026-05-31", "--replace").returncode == 0
