"""Scenarios through HTTP: saved changes evaluated as if applied, checked against the same changes
really applied in a rolled-back transaction (and pyproj for the new agents' reach); nothing live
changes, for the caller or for a concurrent reader; bad input refused with its field; scoped."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, error_codes, fetch, post, running_server, token
from tests.oracle import GEOD

CREATE = """mutation($input: ScenarioInput!) { createScenario(input: $input) { id name regionCode createdBy
    changes { kind agentCode lng lat reachM name } } }"""
EVALUATE = """query($id: ID!) { scenario(id: $id) {
    coverage { villages coveredVillages workersInReach activeAgents children { code coveredVillages } }
    delta { newlyReachedVillages lostVillages newlyReachedWorkers lostWorkers
            villages { code reached agentsBefore agentsAfter informalWorkers village { code } }
            byRegion { code newlyReachedVillages lostVillages newlyReachedWorkers lostWorkers } }
    coverageGaps(kind: UNREACHED, first: 500) { totalCount edges { node { village { code } } } }
    agentWorkload(first: 500) { totalCount edges { node { agent { code } villagesInReach } } } } }"""
LIVE = "query($r: String!) { coverage(regionCode: $r) { coveredVillages workersInReach activeAgents } }"


@pytest.fixture(scope="module")
def writable(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("scenarios"))) as server:
            yield url, server


def _region(url: str) -> str:
    """The demo regency with the most villages."""
    return str(fetch(url, "SELECT left(code, 5) AS r FROM village GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0]["r"])


def _changes(url: str, region: str) -> list[dict[str, Any]]:
    """Two agents added at unreached villages, one moved 15 km, one re-reached, one deactivated."""
    unreached = fetch(url, """SELECT code, ST_X(label_point) x, ST_Y(label_point) y FROM village v
        WHERE code LIKE $1 || '.%' AND NOT EXISTS (SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id
        WHERE r.village_code = v.code AND a.status = 'active') ORDER BY code LIMIT 2""", region)
    agents = fetch(url, """SELECT code, ST_X(location) x, ST_Y(location) y FROM agent
        WHERE home_village_code LIKE $1 || '.%' AND status = 'active' ORDER BY code LIMIT 3""", region)
    assert len(unreached) == 2 and len(agents) == 3, "the demo region needs unreached villages and three agents"
    lng, lat, _ = GEOD.fwd(agents[0]["x"], agents[0]["y"], 90, 15_000)
    return [
        *({"kind": "ADD_AGENT", "location": {"lng": v["x"], "lat": v["y"]}, "reachM": 4000, "name": f"Baru {i}"}
          for i, v in enumerate(unreached)),
        {"kind": "MOVE_AGENT", "agentCode": agents[0]["code"], "location": {"lng": lng, "lat": lat}},
        {"kind": "CHANGE_REACH", "agentCode": agents[1]["code"], "reachM": 1000},
        {"kind": "DEACTIVATE_AGENT", "agentCode": agents[2]["code"]},
    ]


def _state_sql(region: str) -> str:
    """What the test reads of a region's live tables (inside whatever transaction it runs in)."""
    return (f"""
        SELECT (SELECT array_agg(v.code ORDER BY v.code) FROM village v WHERE v.code LIKE '{region}.%' AND EXISTS (
                    SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                    WHERE r.village_code = v.code AND a.status = 'active')) AS covered,
               (SELECT array_agg(code ORDER BY code) FROM village WHERE code LIKE '{region}.%') AS villages,
               (SELECT json_object_agg(code, informal_workers) FROM village WHERE code LIKE '{region}.%') AS workers,
               (SELECT count(*) FROM agent WHERE home_village_code LIKE '{region}.%' AND status = 'active') AS active_agents,
               (SELECT count(*) FROM agent WHERE home_village_code LIKE '{region}.%') AS agents,
               (SELECT json_object_agg(replace(a.code, 'oracle-', 'scenario-'), (
                    SELECT count(*) FROM agent_reach r WHERE r.agent_id = a.id))
                FROM agent a WHERE a.home_village_code LIKE '{region}.%') AS reach_per_agent""")


def _applied(url: str, region: str, changes: list[dict[str, Any]], added: list[dict[str, Any]]) -> dict[str, Any]:
    """The region after really applying the changes (the reach triggers recompute), rolled back."""
    async def go() -> dict[str, Any]:
        connection = await asyncpg.connect(url)
        try:
            transaction = connection.transaction()
            await transaction.start()
            for change in changes:
                if change["kind"] == "MOVE_AGENT":
                    await connection.execute("UPDATE agent SET location = ST_SetSRID(ST_MakePoint($2, $3), 4326) WHERE code = $1",
                                             change["agentCode"], change["location"]["lng"], change["location"]["lat"])
                elif change["kind"] == "CHANGE_REACH":
                    await connection.execute("UPDATE agent SET reach_m = $2 WHERE code = $1", change["agentCode"], change["reachM"])
                elif change["kind"] == "DEACTIVATE_AGENT":
                    await connection.execute("UPDATE agent SET status = 'inactive' WHERE code = $1", change["agentCode"])
            for a in added:
                await connection.execute("""INSERT INTO agent (code, name, home_village_code, location, reach_m)
                    VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6)""",
                                         f"oracle-{a['n']}", a["name"], a["home_village_code"], a["lng"], a["lat"], a["reach_m"])
            state = dict(await connection.fetchrow(_state_sql(region)))
            await transaction.rollback()
            return state
        finally:
            await connection.close()

    return asyncio.run(go())


def _now(url: str, region: str) -> dict[str, Any]:
    return dict(fetch(url, _state_sql(region))[0])


def _scenario_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def test_a_scenario_equals_its_changes_applied_in_a_rolled_back_transaction(writable: tuple[str, str]) -> None:
    url, server = writable
    region = _region(url)
    changes = _changes(url, region)
    before = _now(url, region)
    reach_pairs = fetch(url, "SELECT count(*) AS n FROM agent_reach")[0]["n"]
    created = data(server, CREATE, {"input": {"name": "Two new agents", "regionCode": region, "changes": changes}},
                   auth="planner")["createScenario"]
    assert created["regionCode"] == region and created["createdBy"] == "test-planner"
    assert [c["kind"] for c in created["changes"]] == [c["kind"] for c in changes]
    added = json.loads(fetch(url, "SELECT added FROM scenario WHERE id = $1", _scenario_id(created["id"]))[0]["added"])
    after = _applied(url, region, changes, added)
    got = data(server, EVALUATE, {"id": created["id"]}, auth="planner")["scenario"]

    covered_before, covered_after = set(before["covered"] or []), set(after["covered"] or [])
    workers = json.loads(after["workers"])
    assert covered_after != covered_before, "the changes must change coverage for this test to mean anything"
    assert got["coverage"]["villages"] == len(after["villages"])
    assert got["coverage"]["coveredVillages"] == len(covered_after)
    assert got["coverage"]["workersInReach"] == sum(workers[c] or 0 for c in covered_after)
    assert got["coverage"]["activeAgents"] == after["active_agents"]
    gaps = {e["node"]["village"]["code"] for e in got["coverageGaps"]["edges"]}
    assert gaps == set(after["villages"]) - covered_after
    assert got["agentWorkload"]["totalCount"] == after["agents"]
    per_agent = {e["node"]["agent"]["code"]: e["node"]["villagesInReach"] for e in got["agentWorkload"]["edges"]}
    assert per_agent == json.loads(after["reach_per_agent"])

    delta = got["delta"]
    reached = {v["code"] for v in delta["villages"] if v["reached"]}
    lost = {v["code"] for v in delta["villages"] if not v["reached"]}
    assert reached == covered_after - covered_before and lost == covered_before - covered_after
    assert delta["newlyReachedVillages"] == len(reached) and delta["lostVillages"] == len(lost)
    assert delta["newlyReachedWorkers"] == sum(workers[c] or 0 for c in reached)
    assert delta["lostWorkers"] == sum(workers[c] or 0 for c in lost)
    assert sum(r["newlyReachedVillages"] for r in delta["byRegion"]) == len(reached)
    assert all(r["code"].startswith(region + ".") and len(r["code"]) == 8 for r in delta["byRegion"])

    # pyproj: every village label point within an added agent's reach is covered under the scenario.
    points = fetch(url, "SELECT code, ST_X(label_point) x, ST_Y(label_point) y FROM village WHERE code LIKE $1 || '.%'", region)
    for a in added:
        for p in points:
            _, _, metres = GEOD.inv(a["lng"], a["lat"], p["x"], p["y"])
            if metres <= a["reach_m"] - 1:
                assert p["code"] in covered_after
    # Nothing live changed.
    assert _now(url, region) == before
    assert fetch(url, "SELECT count(*) AS n FROM agent_reach")[0]["n"] == reach_pairs
    assert not fetch(url, "SELECT 1 FROM agent WHERE id < 0 OR code LIKE 'scenario-%'")


def test_a_concurrent_reader_never_sees_a_scenario(writable: tuple[str, str]) -> None:
    url, server = writable
    region = _region(url)
    scenario = data(server, CREATE, {"input": {"name": "Concurrent", "regionCode": region,
                                               "changes": _changes(url, region)}})["createScenario"]
    live = data(server, LIVE, {"r": region})["coverage"]
    seen: list[dict[str, Any]] = []
    failures: list[Any] = []

    def evaluate() -> None:
        for _ in range(15):
            body = post(server, EVALUATE, {"id": scenario["id"]})
            if "errors" in body:
                failures.append(body["errors"])

    def read() -> None:
        for _ in range(30):
            seen.append(data(server, LIVE, {"r": region})["coverage"])

    threads = [threading.Thread(target=evaluate), threading.Thread(target=evaluate), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert seen and all(s == live for s in seen)
    evaluated = data(server, EVALUATE, {"id": scenario["id"]})["scenario"]["coverage"]
    assert evaluated["coveredVillages"] != live["coveredVillages"]  # the reader saw the present, not the scenario


def _count(url: str) -> int:
    return int(fetch(url, "SELECT count(*) AS n FROM scenario")[0]["n"])


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"kind": "ADD_AGENT"}, "input.changes.0.location", "BAD_USER_INPUT"),
    ({"kind": "MOVE_AGENT", "location": {"lng": 110.4, "lat": -7.8}}, "input.changes.0.agentCode", "BAD_USER_INPUT"),
    ({"kind": "CHANGE_REACH", "agentCode": "{agent}"}, "input.changes.0.reachM", "BAD_USER_INPUT"),
    ({"kind": "DEACTIVATE_AGENT", "agentCode": "{agent}", "reachM": 10}, "input.changes.0.reachM", "BAD_USER_INPUT"),
    ({"kind": "ADD_AGENT", "location": {"lng": -7.8, "lat": 110.4}}, "input.changes.0.location", "BAD_USER_INPUT"),
    ({"kind": "ADD_AGENT", "location": {"lng": 110.4, "lat": -7.8}, "reachM": 60_000}, "input.changes.0.reachM",
     "BAD_USER_INPUT"),
    ({"kind": "ADD_AGENT", "location": {"lng": 110.4, "lat": -7.8}, "name": "  "}, "input.changes.0.name", "BAD_USER_INPUT"),
    ({"kind": "DEACTIVATE_AGENT", "agentCode": "NO-SUCH-AGENT"}, "input.changes.0.agentCode", "NOT_FOUND"),
])
def test_bad_changes_are_refused_with_their_field_and_nothing_saved(writable: tuple[str, str], change: dict[str, Any],
                                                                     field: str, code: str) -> None:
    url, server = writable
    region = _region(url)
    agent = fetch(url, "SELECT code FROM agent ORDER BY code LIMIT 1")[0]["code"]
    change = {k: (v.replace("{agent}", agent) if isinstance(v, str) else v) for k, v in change.items()}
    before = _count(url)
    body = post(server, CREATE, {"input": {"name": "Bad", "regionCode": region, "changes": [change]}})
    assert error_codes(body) == [code], body
    assert body["errors"][0]["extensions"]["field"] == field
    assert body["data"] is None and _count(url) == before


@pytest.mark.parametrize(("name", "region", "changes", "auth", "field", "code"), [
    ("x", "34.71.01.1001", 1, "planner", "input.regionCode", "BAD_USER_INPUT"),
    ("x", "88.88", 1, "planner", "input.regionCode", "NOT_FOUND"),
    ("x", "{region}", 0, "planner", "input.changes", "BAD_USER_INPUT"),
    ("x", "{region}", 501, "planner", "input.changes", "BAD_USER_INPUT"),
    ("", "{region}", 1, "planner", "input.name", "BAD_USER_INPUT"),
    ("x", "{region}", 1, "manager-elsewhere", "input.regionCode", "FORBIDDEN"),
    ("x", "{region}", 1, "agent", "input.regionCode", "FORBIDDEN"),
])
def test_bad_scenarios_are_refused_and_nothing_saved(writable: tuple[str, str], name: str, region: str, changes: int,
                                                     auth: str, field: str, code: str) -> None:
    url, server = writable
    region = region.replace("{region}", _region(url))
    bearer = {"planner": token("planner"), "manager-elsewhere": token("manager", "11.01"),
              "agent": token("agent", agent="AG-000001")}[auth]
    add = {"kind": "ADD_AGENT", "location": {"lng": 110.4, "lat": -7.8}}
    before = _count(url)
    body = post(server, CREATE, {"input": {"name": name, "regionCode": region, "changes": [add] * changes}}, auth=bearer)
    assert error_codes(body) == [code], body
    assert body["errors"][0]["extensions"]["field"] == field
    assert _count(url) == before


def test_scenarios_are_scoped_like_their_region_and_audited(writable: tuple[str, str]) -> None:
    url, server = writable
    region = _region(url)
    other = fetch(url, "SELECT code FROM regency WHERE code <> $1 ORDER BY code LIMIT 1", region)[0]["code"]
    manager, outsider = token("manager", region), token("manager", other)
    made = data(server, CREATE, {"input": {"name": "Manager's", "regionCode": region, "changes": _changes(url, region)[:1]}},
                auth=manager)["createScenario"]
    audit = fetch(url, "SELECT role, action, region_code FROM audit_log WHERE entity = 'scenario' AND entity_id = $1",
                  str(_scenario_id(made["id"])))
    assert [tuple(a) for a in audit] == [("manager", "createScenario", region)]
    query = "query($id: ID!) { scenario(id: $id) { name } node(id: $id) { ... on Scenario { name } } }"
    assert data(server, query, {"id": made["id"]}, auth="planner")["scenario"]["name"] == "Manager's"
    assert data(server, query, {"id": made["id"]}, auth=manager)["node"]["name"] == "Manager's"
    hidden = post(server, query, {"id": made["id"]}, auth=outsider)
    assert hidden["data"]["scenario"] is None and hidden["data"]["node"] is None and error_codes(hidden) == ["NOT_FOUND"]
    listing = "query($r: String) { scenarios(regionCode: $r, first: 100) { totalCount edges { node { id regionCode } } } }"
    mine = data(server, listing, {"r": None}, auth=manager)["scenarios"]
    assert mine["totalCount"] >= 1 and all(e["node"]["regionCode"].startswith(region) for e in mine["edges"])
    assert data(server, listing, {"r": None}, auth=outsider)["scenarios"]["totalCount"] == 0
    ids = [e["node"]["id"] for e in data(server, listing, {"r": region}, auth="planner")["scenarios"]["edges"]]
    assert ids[0] == made["id"]  # newest first
    agent_view = post(server, listing, {"r": None}, auth=token("agent", agent="AG-000001"))
    assert agent_view["data"]["scenarios"]["totalCount"] == 0


FROM_SITES = """mutation($input: ScenarioFromSitesInput!) { createScenarioFromSites(input: $input) {
    changes { kind lng lat reachM name }
    delta { newlyReachedVillages villages { code reached } }
    recommendAgentSites(count: 2, reachM: 5000) { villageCode newlyReachedWorkers } } }"""
LIVE_SITES = """query($r: String!) { recommendAgentSites(regionCode: $r, count: 4, reachM: 5000) {
    villageCode lng lat newlyReachedWorkers newlyReachedVillages } }"""


def test_recommended_sites_become_a_scenario_in_one_call_and_siting_continues_from_it(writable: tuple[str, str]) -> None:
    url, server = writable
    region = _region(url)
    live = data(server, LIVE_SITES, {"r": region}, auth="planner")["recommendAgentSites"]
    assert len(live) == 4, "the demo region has four sites worth recommending at 5 km"
    made = data(server, FROM_SITES, {"input": {"name": "First two sites", "regionCode": region, "count": 2,
                                               "reachM": 5000}}, auth="planner")["createScenarioFromSites"]
    assert [(c["kind"], c["lng"], c["lat"], c["reachM"]) for c in made["changes"]] == [
        ("ADD_AGENT", s["lng"], s["lat"], 5000) for s in live[:2]]
    reached = {v["code"] for v in made["delta"]["villages"] if v["reached"]}
    assert made["delta"]["newlyReachedVillages"] >= sum(s["newlyReachedVillages"] for s in live[:2])
    assert {s["villageCode"] for s in live[:2]} <= reached | set(_now(url, region)["covered"] or [])
    # Siting from the scenario picks up where the first two sites left off (greedy is deterministic).
    assert [(s["villageCode"], s["newlyReachedWorkers"]) for s in made["recommendAgentSites"]] == [
        (s["villageCode"], s["newlyReachedWorkers"]) for s in live[2:4]]


@pytest.mark.parametrize(("given", "auth", "field", "code"), [
    ({"count": 0}, "planner", "input.count", "BAD_USER_INPUT"),
    ({"reachM": 5.0}, "planner", "input.reachM", "BAD_USER_INPUT"),
    ({"regionCode": "88.88"}, "planner", "input.regionCode", "NOT_FOUND"),
    ({}, "manager-elsewhere", "input.regionCode", "FORBIDDEN"),
])
def test_bad_site_scenarios_are_refused(writable: tuple[str, str], given: dict[str, Any], auth: str, field: str,
                                        code: str) -> None:
    url, server = writable
    bearer = {"planner": token("planner"), "manager-elsewhere": token("manager", "11.01")}[auth]
    before = _count(url)
    body = post(server, FROM_SITES, {"input": {"name": "x", "regionCode": _region(url), **given}}, auth=bearer)
    assert error_codes(body) == [code], body
    assert body["errors"][0]["extensions"]["field"] == field and _count(url) == before
