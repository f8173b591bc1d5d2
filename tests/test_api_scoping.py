"""Authentication and scoping: every role, through every path, sees only what it may.

Expected sets are computed independently: region membership from codes in SQL written here, and
an agent's reach with pyproj's Geod, not with the PostGIS functions the API uses.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import jwt
import pytest
from pyproj import Geod

from tests.conftest import JWT_SECRET, data, error_codes, fetch, post, token

GEOD = Geod(ellps="WGS84")


def cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


@pytest.fixture(scope="module")
def regencies(shared_demo_db: str) -> tuple[str, str]:
    """Two regencies that both have agents and enrollments: one in scope, one outside."""
    rows = fetch(shared_demo_db, """
        SELECT left(e.village_code, 5) AS regency FROM enrollment e
        JOIN agent a ON a.id = e.agent_id AND left(a.home_village_code, 5) = left(e.village_code, 5)
        GROUP BY 1 ORDER BY count(*) DESC LIMIT 2""")
    assert len(rows) == 2, "the demo must have enrollments in two regencies"
    return rows[0]["regency"], rows[1]["regency"]


def codes(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["code"] for edge in connection["edges"]]


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt"])
def test_missing_or_malformed_token_is_unauthenticated(server: str, header: str | None) -> None:
    import httpx

    headers = {"authorization": header} if header else {}
    body = httpx.post(f"{server}/graphql", json={"query": "{ provinces { totalCount } }"}, headers=headers).json()
    assert body["data"] is None and error_codes(body) == ["UNAUTHENTICATED"]


def test_expired_wrong_secret_and_incomplete_tokens_are_unauthenticated(server: str) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = token("admin", ttl=dt.timedelta(seconds=-10))
    foreign = jwt.encode({"iss": "perisai-coverage", "sub": "x", "role": "admin", "iat": now,
                          "exp": now + dt.timedelta(hours=1)}, "another-secret-another-secret-0123", algorithm="HS256")
    unscoped = jwt.encode({"iss": "perisai-coverage", "sub": "x", "role": "manager", "iat": now,
                           "exp": now + dt.timedelta(hours=1)}, JWT_SECRET, algorithm="HS256")
    unsigned = jwt.encode({"iss": "perisai-coverage", "sub": "x", "role": "admin", "iat": now,
                           "exp": now + dt.timedelta(hours=1)}, None, algorithm="none")
    for bad, reason in [(expired, "expired"), (foreign, "signed with another secret"), (unscoped, "scope"), (unsigned, "not valid")]:
        body = post(server, "{ provinces { totalCount } }", auth=bad)
        assert error_codes(body) == ["UNAUTHENTICATED"], bad
        assert reason in body["errors"][0]["message"]


def test_sign_in_comes_before_parsing_even_for_introspection(server: str) -> None:
    # GraphiQL sends its headers pane with the schema fetch, so the explorer still works.
    body = post(server, "{ __schema { queryType { name } } }", auth=None)
    assert error_codes(body) == ["UNAUTHENTICATED"] and "Bearer" in body["errors"][0]["message"]
    unparsable = post(server, "{ this is not GraphQL", auth=None)
    assert error_codes(unparsable) == ["UNAUTHENTICATED"]  # refused before the parser ran
    assert data(server, "{ __schema { queryType { name } } }")["__schema"]["queryType"]["name"] == "Query"


def test_me_reports_the_token(server: str) -> None:
    me = data(server, "{ me { subject role scope agentCode } }", auth=token("manager", "99.01", "99.02"))["me"]
    assert me == {"subject": "test-manager", "role": "manager", "scope": ["99.01", "99.02"], "agentCode": None}


# --- manager ---------------------------------------------------------------------------------


def test_manager_direct_lookups_outside_scope_are_not_found(
    server: str, shared_demo_db: str, regencies: tuple[str, str]
) -> None:
    inside, outside = regencies
    auth = token("manager", inside)
    village = fetch(shared_demo_db, "SELECT code FROM village WHERE code LIKE $1 || '.%' LIMIT 1", outside)[0]["code"]
    agent = fetch(shared_demo_db, "SELECT code FROM agent WHERE home_village_code LIKE $1 || '.%' LIMIT 1", outside)[0]["code"]
    for query, variables in [
        ("query($c: String!) { regency(code: $c) { code } }", {"c": outside}),
        ("query($c: String!) { district(code: $c) { code } }", {"c": village[:8]}),
        ("query($c: String!) { village(code: $c) { code } }", {"c": village}),
        ("query($c: String!) { province(code: $c) { code } }", {"c": inside[:2]}),  # above the scope
        ("query($c: String!) { agent(code: $c) { code } }", {"c": agent}),
    ]:
        body = post(server, query, variables, auth=auth)
        assert list(body["data"].values()) == [None] and error_codes(body) == ["NOT_FOUND"], query
    assert data(server, "{ regency(code: \"%s\") { code } }" % inside, auth=auth)["regency"]["code"] == inside


def test_manager_nested_fields_stay_inside_scope(
    server: str, shared_demo_db: str, regencies: tuple[str, str]
) -> None:
    inside, outside = regencies
    auth = token("manager", inside)
    result = data(server, """query($c: String!) { regency(code: $c) {
        province { code }
        districts(first: 20) { totalCount edges { node { code regency { code }
          villages(first: 60) { totalCount edges { node { code district { code } province { code }
            agentsInReach(first: 50) { totalCount edges { node { code homeVillage { code } } } }
            enrollments(first: 50) { totalCount edges { node { village { code } agent { code } participant { name } } } }
          } } }
          agents(first: 100) { totalCount edges { node { code enrollments(first: 1) { totalCount } } } }
        } } } } }""", {"c": inside}, auth=auth)["regency"]
    assert result["province"] is None  # the parent chain stops at the scope
    expected_agents = {r["code"] for r in fetch(
        shared_demo_db, "SELECT code FROM agent WHERE home_village_code LIKE $1 || '.%'", inside)}
    seen_agents: set[str] = set()
    for district in result["districts"]["edges"]:
        assert district["node"]["code"].startswith(inside + ".")
        for village in district["node"]["villages"]["edges"]:
            node = village["node"]
            assert node["code"].startswith(inside + ".") and node["province"] is None
            reach = node["agentsInReach"]
            assert reach["totalCount"] == len(reach["edges"])
            for agent in reach["edges"]:
                seen_agents.add(agent["node"]["code"])
                assert agent["node"]["homeVillage"]["code"].startswith(inside + ".")
            for enrollment in node["enrollments"]["edges"]:
                assert enrollment["node"]["village"]["code"] == node["code"]
                assert enrollment["node"]["participant"]["name"]
        seen_agents |= set(codes(district["node"]["agents"]))
    assert seen_agents and seen_agents <= expected_agents


def test_manager_totals_filters_and_lists_count_only_the_scope(
    server: str, shared_demo_db: str, regencies: tuple[str, str]
) -> None:
    inside, outside = regencies
    auth = token("manager", inside)
    expected = fetch(shared_demo_db, """SELECT
        (SELECT count(*) FROM village WHERE code LIKE $1 || '.%') AS villages,
        (SELECT count(*) FROM agent WHERE home_village_code LIKE $1 || '.%') AS agents,
        (SELECT count(*) FROM enrollment WHERE village_code LIKE $1 || '.%') AS enrollments""", inside)[0]
    query = """query($f: RegionFilter, $a: AgentFilter, $e: EnrollmentFilter) {
        villages(filter: $f) { totalCount } agents(filter: $a) { totalCount }
        enrollments(filter: $e) { totalCount } provinces { totalCount } }"""
    everything = data(server, query, auth=auth)
    assert everything["villages"]["totalCount"] == expected["villages"]
    assert everything["agents"]["totalCount"] == expected["agents"]
    assert everything["enrollments"]["totalCount"] == expected["enrollments"]
    assert everything["provinces"]["totalCount"] == 0
    province = {"regionCode": inside[:2]}  # a filter wider than the scope adds nothing
    assert data(server, query, {"f": province, "a": province, "e": province}, auth=auth) == everything
    other = {"regionCode": outside}  # a filter outside the scope finds nothing
    counts = data(server, query, {"f": other, "a": other, "e": other}, auth=auth)
    assert [counts[k]["totalCount"] for k in ("villages", "agents", "enrollments")] == [0, 0, 0]
    bbox = {"bbox": [94, -11.5, 142, 6.5]}  # all of Indonesia
    assert data(server, query, {"f": bbox, "a": bbox, "e": bbox}, auth=auth) == everything


def test_manager_node_ids_outside_scope_resolve_to_null(
    server: str, shared_demo_db: str, regencies: tuple[str, str]
) -> None:
    inside, outside = regencies
    row = fetch(shared_demo_db, """SELECT e.id, e.participant_id, e.agent_id, e.village_code FROM enrollment e
        JOIN agent a ON a.id = e.agent_id WHERE e.village_code LIKE $1 || '.%' AND a.home_village_code LIKE $1 || '.%'
        LIMIT 1""", outside)[0]
    ids = {
        "Enrollment": row["id"], "Participant": row["participant_id"], "Agent": row["agent_id"],
        "Village": row["village_code"], "District": row["village_code"][:8], "Regency": outside,
        "Province": outside[:2],
    }
    query = "query($id: ID!) { node(id: $id) { id __typename } }"
    for type_name, key in ids.items():
        global_id = base64.b64encode(f"{type_name}:{key}".encode()).decode()
        assert data(server, query, {"id": global_id}, auth=token("manager", inside))["node"] is None, type_name
        assert data(server, query, {"id": global_id}, auth=token("admin"))["node"]["__typename"] == type_name


def test_manager_forged_cursors_do_not_reach_outside(
    server: str, shared_demo_db: str, regencies: tuple[str, str]
) -> None:
    inside, outside = regencies
    auth = token("manager", inside)
    low = fetch(shared_demo_db, "SELECT min(id) - 1 AS id FROM enrollment")[0]["id"]
    in_scope = [r["code"] for r in fetch(
        shared_demo_db, "SELECT code FROM village WHERE code LIKE $1 || '.%' ORDER BY code", inside)]
    query = "query($a: String) { villages(first: 500, after: $a) { edges { node { code } } } }"
    for after in [cursor("00"), cursor(inside[:2])]:  # before everything: exactly the scope
        assert codes(data(server, query, {"a": after}, auth=auth)["villages"]) == in_scope
    beyond = codes(data(server, query, {"a": cursor(outside[:2] + ".00")}, auth=auth)["villages"])
    assert all(c.startswith(inside + ".") for c in beyond)
    page = data(server, """query($a: String) { enrollments(first: 500, after: $a) {
        edges { node { village { code } } } } }""", {"a": cursor(low)}, auth=auth)["enrollments"]
    assert page["edges"] and all(e["node"]["village"]["code"].startswith(inside) for e in page["edges"])
    last = data(server, "query($b: String) { villages(last: 500, before: $b) { edges { node { code } } } }",
                {"b": cursor("99.99.99.9999")}, auth=auth)["villages"]
    assert all(c.startswith(inside + ".") for c in codes(last))


def test_forged_cursor_of_the_wrong_shape_is_bad_user_input(server: str) -> None:
    for bad in ["not base64!", cursor(1, 2, 3), cursor(True), base64.b64encode(b"{}").decode()]:
        body = post(server, "query($a: String) { villages(after: $a) { totalCount } }", {"a": bad})
        assert error_codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["field"] == "after"


# --- planner ---------------------------------------------------------------------------------


def test_planner_reads_everything_but_personal_data(server: str, shared_demo_db: str) -> None:
    # Enrollments of villages whose counts are suppressed are not listed (tests/test_small_counts.py).
    counts = fetch(shared_demo_db, """SELECT (SELECT count(*) FROM village) v, (SELECT count(*) FROM enrollment e
        WHERE NOT EXISTS (SELECT FROM hidden_enrollment_cell h WHERE h.code = e.village_code)) e""")[0]
    seen = data(server, "{ villages { totalCount } enrollments(first: 3) { totalCount edges { node { "
                "participant { occupation village { code } } agent { code name } } } } }", auth="planner")
    assert seen["villages"]["totalCount"] == counts["v"] and seen["enrollments"]["totalCount"] == counts["e"]
    for field in ["participant { name }", "participant { nikLast4 }", "agent { phone }"]:
        body = post(server, "{ enrollments(first: 2) { edges { node { %s } } } }" % field, auth="planner")
        assert set(error_codes(body)) == {"FORBIDDEN"} and len(body["errors"]) == 2, field
        assert "personal data" in body["errors"][0]["message"]
    body = post(server, '{ enrollments(filter: {nameContains: "a"}) { totalCount } }', auth="planner")
    assert error_codes(body) == ["FORBIDDEN"]
    admin = data(server, "{ enrollments(first: 1) { edges { node { participant { name nikLast4 } agent { phone } } } } }")
    node = admin["enrollments"]["edges"][0]["node"]
    assert node["participant"]["name"] and len(node["participant"]["nikLast4"]) == 4 and node["agent"]["phone"]


# --- agent -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def field_agent(shared_demo_db: str) -> dict[str, Any]:
    """The agent with the most enrollments, and what it may see computed with pyproj."""
    agent = fetch(shared_demo_db, """SELECT a.id, a.code, a.home_village_code, a.reach_m,
        ST_X(a.location) AS lng, ST_Y(a.location) AS lat FROM agent a
        JOIN enrollment e ON e.agent_id = a.id GROUP BY a.id ORDER BY count(*) DESC, a.id LIMIT 1""")[0]
    villages = fetch(shared_demo_db, "SELECT code, ST_X(label_point) AS lng, ST_Y(label_point) AS lat FROM village")
    _, _, distances = GEOD.inv([agent["lng"]] * len(villages), [agent["lat"]] * len(villages),
                               [v["lng"] for v in villages], [v["lat"] for v in villages])
    reach = {v["code"] for v, d in zip(villages, distances) if d <= agent["reach_m"]}
    enrollments = fetch(shared_demo_db, "SELECT count(*) AS n FROM enrollment WHERE agent_id = $1", agent["id"])[0]["n"]
    return {**dict(agent), "visible": reach | {agent["home_village_code"]}, "enrollments": enrollments}


def test_agent_sees_own_profile_reach_and_enrollments_only(
    server: str, shared_demo_db: str, field_agent: dict[str, Any]
) -> None:
    auth = token("agent", agent=field_agent["code"])
    seen = data(server, """{ agents { totalCount edges { node { code } } }
        villages(first: 500) { totalCount edges { node { code } } }
        enrollments(first: 500) { totalCount edges { node { agent { code } participant { name } } } } }""", auth=auth)
    assert codes(seen["agents"]) == [field_agent["code"]] and seen["agents"]["totalCount"] == 1
    assert set(codes(seen["villages"])) == field_agent["visible"]
    assert seen["villages"]["totalCount"] == len(field_agent["visible"])
    assert seen["enrollments"]["totalCount"] == field_agent["enrollments"] > 0
    assert all(e["node"]["agent"]["code"] == field_agent["code"] for e in seen["enrollments"]["edges"])
    assert all(e["node"]["participant"]["name"] for e in seen["enrollments"]["edges"])
    other = fetch(shared_demo_db, "SELECT code, id FROM agent WHERE code <> $1 LIMIT 1", field_agent["code"])[0]
    body = post(server, "query($c: String!) { agent(code: $c) { code } }", {"c": other["code"]}, auth=auth)
    assert error_codes(body) == ["NOT_FOUND"]
    global_id = base64.b64encode(f"Agent:{other['id']}".encode()).decode()
    assert data(server, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, auth=auth)["node"] is None


def test_agent_nested_reach_lists_show_only_itself(server: str, field_agent: dict[str, Any]) -> None:
    auth = token("agent", agent=field_agent["code"])
    seen = data(server, """{ villages(first: 500) { edges { node { code
        agentsInReach { edges { node { code } } } district { code } } } } }""", auth=auth)["villages"]
    for edge in seen["edges"]:
        assert set(codes(edge["node"]["agentsInReach"])) <= {field_agent["code"]}
        assert edge["node"]["district"]["code"] == edge["node"]["code"][:8]
    regions = data(server, "{ provinces { edges { node { code regencies { totalCount } } } } }", auth=auth)
    assert [e["node"]["code"] for e in regions["provinces"]["edges"]] == sorted({c[:2] for c in field_agent["visible"]})


def test_agent_filters_and_forged_cursors_stay_inside_its_reach(
    server: str, shared_demo_db: str, field_agent: dict[str, Any]
) -> None:
    auth = token("agent", agent=field_agent["code"])
    query = """query($f: RegionFilter, $a: String) { villages(filter: $f, after: $a, first: 500) {
        totalCount edges { node { code } } } }"""
    whole = data(server, query, {"f": {"regionCode": "99"}}, auth=auth)["villages"]
    assert set(codes(whole)) == field_agent["visible"] and whole["totalCount"] == len(field_agent["visible"])
    forged = data(server, query, {"a": cursor("00")}, auth=auth)["villages"]
    assert set(codes(forged)) == field_agent["visible"]
    low = fetch(shared_demo_db, "SELECT min(id) - 1 AS id FROM enrollment")[0]["id"]
    page = data(server, """query($a: String) { enrollments(first: 500, after: $a) { totalCount
        edges { node { agent { code } } } } }""", {"a": cursor(low)}, auth=auth)["enrollments"]
    assert {e["node"]["agent"]["code"] for e in page["edges"]} == {field_agent["code"]}
    assert page["totalCount"] == field_agent["enrollments"]


def test_planner_cannot_reach_personal_data_through_node(server: str, shared_demo_db: str) -> None:
    participant = fetch(shared_demo_db, "SELECT id FROM participant ORDER BY id LIMIT 1")[0]["id"]
    global_id = base64.b64encode(f"Participant:{participant}".encode()).decode()
    body = post(server, "query($id: ID!) { node(id: $id) { ... on Participant { occupation name } } }",
                {"id": global_id}, auth="planner")
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"]["node"] is None  # `name` is non-null, so the refusal nulls the whole node
