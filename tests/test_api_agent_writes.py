"""Agent management and enrollment status through HTTP: coverage follows, scope holds, audit records."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, error_codes, fetch, post, running_server, token
from tests.oracle import GEOD

CREATE = """mutation($input: AgentInput!) { createAgent(input: $input) { code reachM status homeVillage { code }
    villagesInReach(first: 500) { totalCount } } }"""
UPDATE = """mutation($code: String!, $input: AgentChanges!) { updateAgent(code: $code, input: $input) {
    code reachM villagesInReach(first: 500) { totalCount } } }"""
STATUS = "mutation($code: String!, $s: AgentStatus!) { setAgentStatus(code: $code, status: $s) { code status } }"


@pytest.fixture(scope="module")
def writable(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("agents"))) as server:
            yield url, server


def _village(url: str, regency: str = "99.01") -> dict[str, Any]:
    return dict(fetch(url, "SELECT code, ST_X(label_point) x, ST_Y(label_point) y FROM village "
                           "WHERE code LIKE $1 || '.%' ORDER BY code LIMIT 1", regency)[0])


def _covered(server: str, village: str) -> bool:
    return bool(data(server, "query($v: String!) { village(code: $v) { coverage { covered agentCount } } }",
                     {"v": village})["village"]["coverage"]["agentCount"])


def new_agent(agent_code: str, village: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"code": agent_code, "name": "Agen Baru", "homeVillageCode": village["code"],
            "location": {"lng": village["x"], "lat": village["y"]}, "reachM": 3000, "phone": "+6281234567", **changes}


def test_create_move_and_deactivate_an_agent_and_coverage_follows(writable: tuple[str, str]) -> None:
    url, server = writable
    village = _village(url)
    manager = token("manager", village["code"][:5])
    created = post(server, CREATE, {"input": new_agent("NEW-1", village)}, auth=manager)["data"]["createAgent"]
    assert created["status"] == "ACTIVE" and created["homeVillage"]["code"] == village["code"]
    reached = {r["village_code"] for r in fetch(url, "SELECT village_code FROM agent_reach r JOIN agent a ON a.id = r.agent_id "
                                                    "WHERE a.code = 'NEW-1'")}
    assert village["code"] in reached and created["villagesInReach"]["totalCount"] == len(reached)
    # Move it 20 km north (geodesic): its old villages are no longer reached by it.
    lng, lat, _ = GEOD.fwd(village["x"], village["y"], 0, 20_000)
    moved = post(server, UPDATE, {"code": "NEW-1", "input": {"location": {"lng": lng, "lat": lat}, "reachM": 1000}},
                 auth=manager)
    if "errors" in moved:  # 20 km north may leave the manager's regency: the rule under test below
        assert error_codes(moved) == ["FORBIDDEN"]
        moved = post(server, UPDATE, {"code": "NEW-1", "input": {"location": {"lng": lng, "lat": lat}, "reachM": 1000}})
    assert moved["data"]["updateAgent"]["reachM"] == 1000
    assert not fetch(url, "SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id WHERE a.code = 'NEW-1' "
                          "AND r.village_code = $1", village["code"])
    off = post(server, STATUS, {"code": "NEW-1", "s": "INACTIVE"})["data"]["setAgentStatus"]
    assert off["status"] == "INACTIVE"
    audit = [r["action"] for r in fetch(url, "SELECT action FROM audit_log WHERE entity = 'agent' AND entity_id = 'NEW-1' ORDER BY id")]
    assert audit[0] == "createAgent" and audit[-1] == "setAgentStatus" and "updateAgent" in audit
    before_after = fetch(url, "SELECT before->>'reach_m' b, after->>'reach_m' a FROM audit_log WHERE action = 'updateAgent' "
                              "AND entity_id = 'NEW-1' ORDER BY id DESC LIMIT 1")[0]
    assert (before_after["b"], before_after["a"]) == ("3000", "1000")


def test_an_uncovered_village_becomes_covered_when_an_agent_is_created_there(writable: tuple[str, str]) -> None:
    url, server = writable
    gap = fetch(url, """SELECT v.code, ST_X(v.label_point) x, ST_Y(v.label_point) y FROM village v WHERE NOT EXISTS (
        SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id WHERE r.village_code = v.code AND a.status = 'active')
        ORDER BY code LIMIT 1""")
    if not gap:
        pytest.skip("the demo has no unreached village")
    village = dict(gap[0])
    assert not _covered(server, village["code"])
    post(server, CREATE, {"input": new_agent("NEW-GAP", village)})
    assert _covered(server, village["code"])


@pytest.mark.parametrize(("role", "payload", "code", "field"), [
    ("manager-other", {}, "FORBIDDEN", "input.homeVillageCode"),
    ("manager-own-home-far-base", {"location": {"lng": 120.0, "lat": -2.0}}, "FORBIDDEN", "input.location"),
    ("agent", {}, "FORBIDDEN", None),
    ("planner", {}, "FORBIDDEN", None),
    ("admin", {"reachM": 60_000}, "BAD_USER_INPUT", "input.reachM"),
    ("admin", {"reachM": 0}, "BAD_USER_INPUT", "input.reachM"),
    ("admin", {"location": {"lng": 10.0, "lat": 50.0}}, "BAD_USER_INPUT", "input.location"),
    ("admin", {"code": "has space"}, "BAD_USER_INPUT", "input.code"),
    ("admin", {"phone": "call me"}, "BAD_USER_INPUT", "input.phone"),
    ("admin", {"homeVillageCode": "99.01.01.9999"}, "NOT_FOUND", "input.homeVillageCode"),
    ("admin", {"homeVillageCode": "99.01"}, "BAD_USER_INPUT", "input.homeVillageCode"),
    ("admin", {"code": "AG-000001"}, "CONFLICT", "input.code"),
])
def test_agent_refusals(writable: tuple[str, str], role: str, payload: dict[str, Any], code: str, field: str | None) -> None:
    url, server = writable
    village = _village(url)
    auth = {"manager-other": token("manager", "99.71"), "manager-own-home-far-base": token("manager", "99.01"),
            "agent": token("agent", agent="AG-000001"), "planner": token("planner"), "admin": token("admin")}[role]
    before = fetch(url, "SELECT count(*) n FROM agent")[0]["n"]
    body = post(server, CREATE, {"input": new_agent("REFUSED-1", village, **payload)}, auth=auth)
    assert error_codes(body) == [code], body
    assert body["errors"][0].get("extensions", {}).get("field") == field
    assert fetch(url, "SELECT count(*) n FROM agent")[0]["n"] == before


def test_a_manager_cannot_touch_an_agent_outside_the_scope(writable: tuple[str, str]) -> None:
    url, server = writable
    outsider = fetch(url, "SELECT code FROM agent WHERE home_village_code LIKE '99.01.%' ORDER BY code LIMIT 1")[0]["code"]
    body = post(server, STATUS, {"code": outsider, "s": "INACTIVE"}, auth=token("manager", "99.71"))
    assert error_codes(body) == ["NOT_FOUND"]
    assert fetch(url, "SELECT status::text s FROM agent WHERE code = $1", outsider)[0]["s"] == "active"


LAPSE = "mutation($id: ID!, $on: Date) { lapseEnrollment(id: $id, on: $on) { status lastPaidOn } }"
PAY = "mutation($id: ID!, $d: Date!) { recordPayment(id: $id, paidOn: $d) { status lastPaidOn } }"


def _active_enrollment(url: str) -> tuple[int, str, str]:
    row = fetch(url, """SELECT e.id, a.code, e.village_code FROM enrollment e JOIN agent a ON a.id = e.agent_id
        WHERE e.status = 'active' AND e.last_paid_on < CURRENT_DATE - 5 ORDER BY e.id LIMIT 1""")[0]
    return row["id"], row["code"], row["village_code"]


def test_payments_move_the_last_paid_date_forward_only_and_a_lapse_ends_it(writable: tuple[str, str]) -> None:
    url, server = writable
    number, agent, village = _active_enrollment(url)
    gid = base64.b64encode(f"Enrollment:{number}".encode()).decode()
    today = dt.date.today()
    paid = post(server, PAY, {"id": gid, "d": today.isoformat()}, auth=token("agent", agent=agent))
    assert paid["data"]["recordPayment"]["lastPaidOn"] == today.isoformat()
    late = post(server, PAY, {"id": gid, "d": (today - dt.timedelta(days=3)).isoformat()}, auth=token("agent", agent=agent))
    assert late["data"]["recordPayment"]["lastPaidOn"] == today.isoformat()
    future = post(server, PAY, {"id": gid, "d": (today + dt.timedelta(days=2)).isoformat()}, auth=token("agent", agent=agent))
    assert error_codes(future) == ["BAD_USER_INPUT"] and future["errors"][0]["extensions"]["field"] == "input.paidOn"
    other = fetch(url, "SELECT code FROM agent WHERE code <> $1 ORDER BY code LIMIT 1", agent)[0]["code"]
    assert error_codes(post(server, LAPSE, {"id": gid}, auth=token("agent", agent=other))) == ["NOT_FOUND"]
    lapsed = post(server, LAPSE, {"id": gid}, auth=token("manager", village[:5]))
    assert lapsed["data"]["lapseEnrollment"]["status"] == "LAPSED"
    assert error_codes(post(server, LAPSE, {"id": gid})) == ["CONFLICT"]
    assert error_codes(post(server, PAY, {"id": gid, "d": today.isoformat()})) == ["CONFLICT"]
    actions = [r["action"] for r in fetch(url, "SELECT action FROM audit_log WHERE entity = 'enrollment' "
                                               "AND entity_id = $1 ORDER BY id", str(number))]
    assert actions == ["recordPayment", "recordPayment", "lapseEnrollment"]


def test_the_audit_log_cannot_be_rewritten(writable: tuple[str, str]) -> None:
    url, _ = writable
    for statement in ("UPDATE audit_log SET subject = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(Exception, match="append-only"):
            fetch(url, statement)


AUDIT = """query($r: String, $after: String) { auditLog(regionCode: $r, first: 2, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { at subject role action entity entityId regionCode before after } } } }"""


def test_the_audit_log_reads_newest_first_scoped_and_paged(writable: tuple[str, str]) -> None:
    url, server = writable
    village = _village(url, "99.71")
    post(server, CREATE, {"input": new_agent("AUDIT-1", village)})
    post(server, STATUS, {"code": "AUDIT-1", "s": "INACTIVE"})
    rows = fetch(url, "SELECT id, action FROM audit_log WHERE region_code LIKE '99.71.%' ORDER BY id DESC")
    pages, after = [], None
    while True:
        got = data(server, AUDIT, {"r": "99.71", "after": after}, auth=token("manager", "99.71"))["auditLog"]
        pages += [e["node"]["action"] for e in got["edges"]]
        if not got["pageInfo"]["hasNextPage"]:
            break
        after = got["pageInfo"]["endCursor"]
    assert pages == [r["action"] for r in rows] and pages[:2] == ["setAgentStatus", "createAgent"]
    first = data(server, AUDIT, {"r": None}, auth=token("manager", "99.71"))["auditLog"]["edges"][0]["node"]
    assert first["regionCode"].startswith("99.71.") and first["before"]["status"] == "active"
    assert first["after"]["status"] == "inactive" and first["subject"] == "test-admin"
    assert error_codes(post(server, AUDIT, {"r": "99.01"}, auth=token("manager", "99.71"))) == ["FORBIDDEN"]
    assert error_codes(post(server, AUDIT, {"r": None}, auth="planner")) == ["FORBIDDEN"]
