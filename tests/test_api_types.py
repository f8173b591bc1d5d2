"""Every type, its fields in both directions, Relay ids and pagination, against independent computations."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pyproj import Geod

from tests.conftest import data, error_codes, fetch, post

GEOD = Geod(ellps="WGS84")


def codes(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["code"] for edge in connection["edges"]]


def test_hierarchy_both_ways(server: str, shared_demo_db: str) -> None:
    tree = data(server, """{ provinces(first: 5) { edges { node { code name
        regencies(first: 20) { totalCount edges { node { code province { code }
          districts(first: 20) { totalCount edges { node { code regency { code } province { code }
            villages(first: 100) { totalCount edges { node { code district { code } regency { code } province { code } } } }
        } } } } } } } } } }""")["provinces"]["edges"]
    expected = {r["code"] for r in fetch(shared_demo_db, "SELECT code FROM village")}
    seen = set()
    for province in tree:
        p = province["node"]
        for regency in p["regencies"]["edges"]:
            r = regency["node"]
            assert r["province"]["code"] == p["code"] and r["code"].startswith(p["code"] + ".")
            for district in r["districts"]["edges"]:
                d = district["node"]
                assert (d["regency"]["code"], d["province"]["code"]) == (r["code"], p["code"])
                assert d["villages"]["totalCount"] == len(d["villages"]["edges"])
                for village in d["villages"]["edges"]:
                    v = village["node"]
                    assert (v["district"]["code"], v["regency"]["code"], v["province"]["code"]) == (d["code"], r["code"], p["code"])
                    seen.add(v["code"])
    assert seen == expected


def test_agents_in_reach_and_villages_in_reach_match_geodesic_distances(server: str, shared_demo_db: str) -> None:
    agents = fetch(shared_demo_db, "SELECT code, status::text, reach_m, ST_X(location) x, ST_Y(location) y FROM agent")
    villages = fetch(shared_demo_db, "SELECT code, ST_X(label_point) x, ST_Y(label_point) y FROM village")
    listed = data(server, """{ villages(first: 500) { edges { node { code
        agentsInReach(first: 500) { totalCount edges { distanceM node { code } } } } } } }""")["villages"]["edges"]
    assert len(listed) == len(villages)
    points = {v["code"]: v for v in villages}
    checked = 0
    for edge in listed:
        village = points[edge["node"]["code"]]
        expected = {}
        for a in agents:
            _, _, d = GEOD.inv(a["x"], a["y"], village["x"], village["y"])
            if a["status"] == "active" and d <= a["reach_m"]:
                expected[a["code"]] = d
        reach = edge["node"]["agentsInReach"]
        assert set(codes(reach)) == set(expected) and reach["totalCount"] == len(expected)
        distances = [e["distanceM"] for e in reach["edges"]]
        assert distances == sorted(distances)
        for e in reach["edges"]:
            assert e["distanceM"] == pytest.approx(expected[e["node"]["code"]], abs=0.01)
        checked += len(expected)
    assert checked > 50  # the demo has coverage to check

    agent = max(agents, key=lambda a: a["reach_m"])
    reached = data(server, """query($c: String!) { agent(code: $c) { villagesInReach(first: 500) {
        totalCount edges { distanceM node { code } } } } }""", {"c": agent["code"]})["agent"]["villagesInReach"]
    expected = {v["code"] for v in villages if GEOD.inv(agent["x"], agent["y"], v["x"], v["y"])[2] <= agent["reach_m"]}
    assert set(codes(reached)) == expected and reached["totalCount"] == len(expected)


def test_agent_enrollment_participant_links(server: str, shared_demo_db: str) -> None:
    row = fetch(shared_demo_db, """SELECT e.id, e.village_code, e.monthly_contribution_idr, e.programmes::text[] p,
        upper(e.status::text) AS status, a.code AS agent, a.home_village_code, pa.name, pa.nik_last4, pa.occupation,
        (SELECT count(*) FROM enrollment WHERE agent_id = a.id) AS agent_total,
        (SELECT count(*) FROM enrollment WHERE village_code = e.village_code) AS village_total
        FROM enrollment e JOIN agent a ON a.id = e.agent_id JOIN participant pa ON pa.id = e.participant_id
        ORDER BY e.id LIMIT 1""")[0]
    enrollment_id = base64.b64encode(f"Enrollment:{row['id']}".encode()).decode()
    node = data(server, """query($id: ID!) { node(id: $id) { id ... on Enrollment {
        monthlyContributionIdr programmes status enrolledOn
        village { code enrollments { totalCount } }
        agent { code homeVillage { code } enrollments(first: 1) { totalCount } }
        participant { id name nikLast4 occupation village { code } enrollments { totalCount edges { node { id } } } } } } }""",
        {"id": enrollment_id})["node"]
    assert node["id"] == enrollment_id
    assert (node["monthlyContributionIdr"], node["programmes"], node["status"]) == (
        row["monthly_contribution_idr"], row["p"], row["status"])
    assert node["village"] == {"code": row["village_code"], "enrollments": {"totalCount": row["village_total"]}}
    assert node["agent"]["code"] == row["agent"] and node["agent"]["homeVillage"]["code"] == row["home_village_code"]
    assert node["agent"]["enrollments"]["totalCount"] == row["agent_total"]
    participant = node["participant"]
    assert (participant["name"], participant["nikLast4"], participant["occupation"]) == (row["name"], row["nik_last4"], row["occupation"])
    assert enrollment_id in [e["node"]["id"] for e in participant["enrollments"]["edges"]]
    again = data(server, "query($id: ID!) { node(id: $id) { ... on Participant { name } } }", {"id": participant["id"]})
    assert again["node"]["name"] == row["name"]


def test_agent_fields_and_lookup_by_global_id(server: str, shared_demo_db: str) -> None:
    row = fetch(shared_demo_db, "SELECT id, code, name, reach_m, status::text, ST_X(location) x, ST_Y(location) y "
                                "FROM agent ORDER BY id LIMIT 1")[0]
    by_code = data(server, "query($c: String!) { agent(code: $c) { id code name reachM status location(precision: 5) } }",
                   {"c": row["code"]})["agent"]
    assert (by_code["code"], by_code["name"], by_code["reachM"], by_code["status"]) == (
        row["code"], row["name"], row["reach_m"], row["status"].upper())
    assert by_code["location"] == {"type": "Point", "coordinates": [round(row["x"], 5), round(row["y"], 5)]}
    by_id = data(server, "query($id: ID!) { agent(id: $id) { code } }", {"id": by_code["id"]})["agent"]
    assert by_id["code"] == row["code"]
    village_id = base64.b64encode(b"Village:99.01.01.2001").decode()
    body = post(server, "query($id: ID!) { agent(id: $id) { code } }", {"id": village_id})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    body = post(server, "{ agent { code } }")
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_node_round_trips_every_type(server: str) -> None:
    ids = data(server, """{ provinces(first: 1) { edges { node { id regencies(first: 1) { edges { node { id
        districts(first: 1) { edges { node { id villages(first: 1) { edges { node { id } } } } } } } } } } } }
        agents(first: 1) { edges { node { id } } } enrollments(first: 1) { edges { node { id participant { id } } } } }""")
    province = ids["provinces"]["edges"][0]["node"]
    regency = province["regencies"]["edges"][0]["node"]
    district = regency["districts"]["edges"][0]["node"]
    enrollment = ids["enrollments"]["edges"][0]["node"]
    found = [province["id"], regency["id"], district["id"], district["villages"]["edges"][0]["node"]["id"],
             ids["agents"]["edges"][0]["node"]["id"], enrollment["id"], enrollment["participant"]["id"]]
    for global_id in found:
        node = data(server, "query($id: ID!) { node(id: $id) { id __typename } }", {"id": global_id})["node"]
        assert node["id"] == global_id
        assert base64.b64decode(global_id).decode().startswith(node["__typename"] + ":")
    assert error_codes(post(server, '{ node(id: "%%%") { id } }')) == ["BAD_USER_INPUT"]


def test_pagination_forwards_and_backwards_equals_sql_order(server: str, shared_demo_db: str) -> None:
    expected = [r["code"] for r in fetch(shared_demo_db, "SELECT code FROM village ORDER BY code")]
    query = """query($first: Int, $after: String, $last: Int, $before: String) {
        villages(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { code } } } }"""
    forward, after, pages = [], None, 0
    while True:
        page = data(server, query, {"first": 17, "after": after})["villages"]
        assert page["totalCount"] == len(expected) and len(page["edges"]) <= 17
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        forward += codes(page)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert forward == expected and pages == -(-len(expected) // 17)
    backward, before = [], None
    while True:
        page = data(server, query, {"last": 17, "before": before})["villages"]
        backward = codes(page) + backward
        assert page["pageInfo"]["hasNextPage"] == (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == expected
    middle = data(server, query, {"first": 500, "after": cursor_of(expected[9]), "before": cursor_of(expected[20])})
    assert codes(middle["villages"]) == expected[10:20]


def cursor_of(code: str) -> str:
    return base64.urlsafe_b64encode(f'["{code}"]'.encode()).decode()


def test_nested_connections_paginate_per_parent(server: str, shared_demo_db: str) -> None:
    rows = fetch(shared_demo_db, """SELECT district_code, array_agg(code ORDER BY code) AS codes
        FROM village GROUP BY district_code ORDER BY district_code""")
    query = """query($after: String) { provinces(first: 5) { edges { node { regencies(first: 20) { edges { node {
        districts(first: 20) { edges { node { code villages(first: 2, after: $after) {
        pageInfo { hasNextPage } edges { node { code } } } } } } } } } } } } }"""
    tree = data(server, query)["provinces"]["edges"]
    pages = {d["node"]["code"]: d["node"]["villages"] for p in tree for r in p["node"]["regencies"]["edges"]
             for d in r["node"]["districts"]["edges"]}
    for row in rows:
        page = pages[row["district_code"]]
        assert codes(page) == row["codes"][:2]
        assert page["pageInfo"]["hasNextPage"] == (len(row["codes"]) > 2)


@pytest.mark.parametrize("arguments, field", [
    ("first: 501", "first"), ("last: 501", "last"), ("first: -1", "first"), ("first: 2, last: 2", "first"),
])
def test_page_size_limits_are_clear_errors(server: str, arguments: str, field: str) -> None:
    body = post(server, "{ villages(%s) { totalCount } }" % arguments)
    assert error_codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["field"] == field
    assert body["data"] is None
    nested = post(server, "{ provinces(first: 1) { edges { node { regencies(%s) { totalCount } } } } }" % arguments)
    assert error_codes(nested) == ["BAD_USER_INPUT"]


def test_a_page_of_500_is_allowed(server: str) -> None:
    assert len(data(server, "{ enrollments(first: 500) { edges { node { id } } } }")["enrollments"]["edges"]) == 500
