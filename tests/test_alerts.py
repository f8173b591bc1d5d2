"""Coverage alerts: raised by the database for the change made (whoever makes it), naming the
villages and workers the test computes itself; gathered into digests; delivered to managers over
graphql-transport-ws, scoped."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import JWT_SECRET, NIK_KEY, _clone, data, error_codes, fetch, post, running_server, token
from tests.oracle import GEOD
from tests.test_api_subscriptions import next_payload, subscription

ALERTS = """query($r: String) { coverageAlerts(regionCode: $r, first: 100) { totalCount edges { node {
    id kind causes districtCode villageCodes informalWorkers agentCodes coveredShareBefore coveredShareAfter changes
    district { code } villages { code } } } } }"""
STATUS = "mutation($c: String!, $s: AgentStatus!) { setAgentStatus(code: $c, status: $s) { code } }"
MOVE = "mutation($c: String!, $i: AgentChanges!) { updateAgent(code: $c, input: $i) { code } }"
LIVE = """subscription($r: String, $d: Int) { coverageAlerts(regionCode: $r, digestSeconds: $d) {
    kind causes districtCode villageCodes agentCodes changes } }"""


@pytest.fixture
def writable(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, tmp_path) as server:
            yield url, server


def _only_reached_by(url: str, agent: str) -> dict[str, int | None]:
    """Villages (code → informal workers) the agent reaches and no other active agent does."""
    rows = fetch(url, """SELECT v.code, v.informal_workers FROM agent_reach r JOIN agent a ON a.id = r.agent_id
        JOIN village v ON v.code = r.village_code WHERE a.code = $1 AND NOT EXISTS (
            SELECT 1 FROM agent_reach o JOIN agent b ON b.id = o.agent_id
            WHERE o.village_code = r.village_code AND b.status = 'active' AND b.code <> $1)""", agent)
    return {r["code"]: r["informal_workers"] for r in rows}


def _sole_agents(url: str, region: str = "99.01") -> list[dict[str, Any]]:
    """Active agents of the region that are the only active agent of at least one village."""
    return [dict(r) for r in fetch(url, """SELECT a.code, ST_X(a.location) x, ST_Y(a.location) y FROM agent a
        WHERE a.status = 'active' AND a.home_village_code LIKE $1 || '.%' AND EXISTS (
            SELECT 1 FROM agent_reach r WHERE r.agent_id = a.id AND NOT EXISTS (
                SELECT 1 FROM agent_reach o JOIN agent b ON b.id = o.agent_id
                WHERE o.village_code = r.village_code AND b.status = 'active' AND b.id <> a.id))
        ORDER BY a.code""", region)]


def _alerts(server: str, region: str | None = None, auth: str = "planner") -> list[dict[str, Any]]:
    return [e["node"] for e in data(server, ALERTS, {"r": region}, auth=auth)["coverageAlerts"]["edges"]]


def _by_district(lost: dict[str, int | None]) -> dict[str, dict[str, int | None]]:
    grouped: dict[str, dict[str, int | None]] = {}
    for code, workers in lost.items():
        grouped.setdefault(code[:8], {})[code] = workers
    return grouped


def test_each_cause_raises_an_alert_naming_the_villages_it_left_unreached(writable: tuple[str, str]) -> None:
    url, server = writable
    stopped, moved = _sole_agents(url)[:2]
    lost = _only_reached_by(url, stopped["code"])
    data(server, STATUS, {"c": stopped["code"], "s": "INACTIVE"})
    alerts = [a for a in _alerts(server) if a["kind"] == "VILLAGES_UNREACHED"]
    expected = {d: v for d, v in _by_district(lost).items()}
    assert {a["districtCode"]: set(a["villageCodes"]) for a in alerts} == {d: set(v) for d, v in expected.items()}
    for alert in alerts:
        assert alert["causes"] == ["AGENT_DEACTIVATED"] and alert["agentCodes"] == [stopped["code"]]
        assert alert["informalWorkers"] == sum(w or 0 for w in expected[alert["districtCode"]].values())
        assert alert["district"]["code"] == alert["districtCode"]
        assert {v["code"] for v in alert["villages"]} == set(alert["villageCodes"])

    lost = _only_reached_by(url, moved["code"])
    lng, lat, _ = GEOD.fwd(moved["x"], moved["y"], 0, 40_000)
    data(server, MOVE, {"c": moved["code"], "i": {"location": {"lng": lng, "lat": lat}}})
    moved_alerts = [a for a in _alerts(server) if a["causes"] == ["AGENT_MOVED"] and a["kind"] == "VILLAGES_UNREACHED"]
    assert {v for a in moved_alerts for v in a["villageCodes"]} == set(lost)
    assert all(a["agentCodes"] == [moved["code"]] for a in moved_alerts)


def test_a_change_that_leaves_every_village_reached_raises_nothing(writable: tuple[str, str]) -> None:
    url, server = writable
    redundant = fetch(url, """SELECT a.code FROM agent a WHERE a.status = 'active' AND NOT EXISTS (
        SELECT 1 FROM agent_reach r WHERE r.agent_id = a.id AND NOT EXISTS (
            SELECT 1 FROM agent_reach o JOIN agent b ON b.id = o.agent_id
            WHERE o.village_code = r.village_code AND b.status = 'active' AND b.id <> a.id)) ORDER BY a.code LIMIT 1""")
    data(server, STATUS, {"c": redundant[0]["code"], "s": "INACTIVE"})
    assert _alerts(server) == []


def test_a_mass_deactivation_is_one_alert_per_district_one_statement_or_many_calls(writable: tuple[str, str]) -> None:
    url, server = writable
    agents = _sole_agents(url, "99.01")
    assert len(agents) >= 6
    by_api, by_sql = agents[:3], agents[3:]
    lost_api = {c for a in by_api for c in _only_reached_by(url, a["code"])}
    for agent in by_api:
        data(server, STATUS, {"c": agent["code"], "s": "INACTIVE"})
    after_api = [a for a in _alerts(server) if a["kind"] == "VILLAGES_UNREACHED"]
    assert len(after_api) == len({c[:8] for c in lost_api})  # one per district, however many calls
    assert {v for a in after_api for v in a["villageCodes"]} == lost_api
    assert sum(a["changes"] for a in after_api) >= len(by_api)
    # One UPDATE of every remaining agent of the region (an import, psql): still one alert per district and cause.
    fetch(url, "UPDATE agent SET status = 'inactive' WHERE home_village_code LIKE '99.01.%' AND status = 'active'")
    alerts = [a for a in _alerts(server) if a["kind"] == "VILLAGES_UNREACHED"]
    assert len({(a["districtCode"], tuple(a["causes"])) for a in alerts}) == len(alerts)
    assert {c for a in by_sql for c in _only_reached_by(url, a["code"])} <= {v for a in alerts for v in a["villageCodes"]}


def test_a_district_falling_below_the_threshold_is_an_alert_with_both_shares(writable: tuple[str, str]) -> None:
    url, server = writable
    share = """SELECT count(*) AS n, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id
        WHERE r.village_code = v.code AND a.status = 'active')) AS covered FROM village v WHERE v.district_code = $1"""
    district = next(r["d"] for r in fetch(url, "SELECT DISTINCT district_code AS d FROM village ORDER BY 1")
                    if (lambda s: s["covered"] / s["n"] >= 0.5)(fetch(url, share, r["d"])[0]))
    before = fetch(url, share, district)[0]
    fetch(url, """UPDATE agent a SET status = 'inactive' WHERE a.status = 'active' AND EXISTS (
        SELECT 1 FROM agent_reach r WHERE r.agent_id = a.id AND r.village_code LIKE $1 || '.%')""", district)
    after = fetch(url, share, district)[0]
    assert after["covered"] / after["n"] < 0.5
    alert = [a for a in _alerts(server, district) if a["kind"] == "DISTRICT_BELOW_THRESHOLD" and a["districtCode"] == district]
    assert len(alert) == 1
    assert alert[0]["coveredShareBefore"] == pytest.approx(before["covered"] / before["n"])
    assert alert[0]["coveredShareAfter"] == pytest.approx(after["covered"] / after["n"])


def test_managers_hear_a_burst_as_one_message_and_only_inside_their_scope(writable: tuple[str, str]) -> None:
    url, server = writable
    agents = _sole_agents(url, "99.01")[:4]
    districts = {c[:8] for a in agents for c in _only_reached_by(url, a["code"])}
    with subscription(server, LIVE, token("manager", "99.01"), r=None, d=3) as mine, \
            subscription(server, LIVE, token("manager", "99.71"), r=None, d=0) as elsewhere:
        time.sleep(1.0)
        # One statement, as an import or psql would deactivate them: its alerts commit together, so the
        # burst reaches the subscription within its digest window however busy the machine is.
        fetch(url, "UPDATE agent SET status = 'inactive' WHERE code = ANY($1)", [a["code"] for a in agents])
        got = next_payload(mine, timeout=15)
        assert got is not None and "data" in got, got
        listed = got["data"]["coverageAlerts"]
        assert {a["districtCode"] for a in listed if a["kind"] == "VILLAGES_UNREACHED"} == districts
        assert {c for a in listed for c in a["agentCodes"]} == {a["code"] for a in agents}
        assert next_payload(mine, timeout=4) is None  # the burst was one message
        assert next_payload(elsewhere, timeout=1) is None
    assert _alerts(server, auth=token("manager", "99.71")) == []


@pytest.mark.parametrize(("auth", "variables", "field", "code"), [
    ("agent", {"r": None}, "regionCode", "FORBIDDEN"),
    ("planner", {"r": "99.01.xx"}, "regionCode", "BAD_USER_INPUT"),
])
def test_bad_alert_requests_are_refused(writable: tuple[str, str], auth: str, variables: dict[str, Any], field: str,
                                        code: str) -> None:
    _, server = writable
    bearer = token("agent", agent="AG-000001") if auth == "agent" else token(auth)
    body = post(server, ALERTS, variables, auth=bearer)
    assert error_codes(body) == [code] and body["errors"][0]["extensions"]["field"] == field


def test_a_subscription_refuses_a_bad_digest_and_an_agent(writable: tuple[str, str]) -> None:
    _, server = writable
    with subscription(server, LIVE, token("planner"), r=None, d=99_999) as ws:
        got = next_payload(ws, timeout=5)
        assert got is not None and "digestSeconds" in str(got)
    with subscription(server, LIVE, token("agent", agent="AG-000001"), r=None, d=0) as ws:
        got = next_payload(ws, timeout=5)
        assert got is not None and "FORBIDDEN" in str(got)


def _alerts_command(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "PERISAI_JWT_SECRET": JWT_SECRET, "PERISAI_NIK_KEY": NIK_KEY.decode()}
    done = subprocess.run([sys.executable, "-m", "cli.main", "alerts", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_an_agent_whose_last_enrollment_grows_too_old_raises_an_alert_on_that_day(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = fetch(url, """SELECT a.code, max(e.enrolled_on) AS last FROM agent a JOIN enrollment e ON e.agent_id = a.id
        WHERE a.status = 'active' GROUP BY a.code ORDER BY count(*) DESC, a.code LIMIT 1""")[0]
    crossing = agent["last"] + dt.timedelta(days=30)
    # The test's own answer: the villages it reaches where no other active agent enrolled in the 30 days.
    expected = {r["code"] for r in fetch(url, """SELECT r.village_code AS code FROM agent_reach r JOIN agent a ON a.id = r.agent_id
        WHERE a.code = $1 AND NOT EXISTS (SELECT 1 FROM agent_reach o JOIN agent b ON b.id = o.agent_id
            WHERE o.village_code = r.village_code AND b.status = 'active' AND b.code <> $1 AND EXISTS (
                SELECT 1 FROM enrollment e WHERE e.agent_id = b.id AND e.enrolled_on > $2::date - 30 AND e.enrolled_on <= $2::date))""",
                                         agent["code"], crossing)}
    assert expected, "the agent must be the last active one of some village for this test to mean anything"
    _alerts_command(url, "--inactive-days", "30", "--as-of", (crossing - dt.timedelta(days=1)).isoformat())
    assert not [a for a in _alerts(server) if agent["code"] in a["agentCodes"]]  # the day before: still counts
    said = _alerts_command(url, "--inactive-days", "30", "--as-of", crossing.isoformat())
    assert "district" in said
    raised = [a for a in _alerts(server) if agent["code"] in a["agentCodes"]]
    assert raised and all(a["causes"] == ["AGENT_INACTIVE"] for a in raised)
    assert {v for a in raised for v in a["villageCodes"]} >= expected
