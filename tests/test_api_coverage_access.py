"""Who may run coverage analytics, and every bad argument rejected with the field it names."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import data, error_codes, fetch, post, token


@pytest.mark.parametrize(("auth", "query", "code"), [
    (token("manager", "99.71"), '{ coverage(regionCode: "99.01") { villages } }', "FORBIDDEN"),
    (token("manager", "99.71"), "{ coverage { villages } }", "FORBIDDEN"),
    (token("manager", "99.71"), '{ coverageGaps(regionCode: "99") { totalCount } }', "FORBIDDEN"),
    (token("manager", "99.71"), '{ agentWorkload(regionCode: "99.01") { totalCount } }', "FORBIDDEN"),
    (token("manager", "99.71"), '{ recommendAgentSites(regionCode: "99.01") { rank } }', "FORBIDDEN"),
    (token("manager", "99.71"), '{ nearestAgents(villageCode: "99.01.01.2001") { distanceM } }', "FORBIDDEN"),
    (token("manager", "99.71"), '{ province(code: "99") { coverage { villages } } }', "NOT_FOUND"),  # not visible
    (token("agent", agent="AG-000001"), '{ coverage(regionCode: "99") { villages } }', "FORBIDDEN"),
    (token("agent", agent="AG-000001"), "{ nearestAgents(point: {lng: 110, lat: -7}) { distanceM } }", "FORBIDDEN"),
    (None, "{ coverage { villages } }", "UNAUTHENTICATED"),
])
def test_analytics_are_scoped(server: str, auth: str | None, query: str, code: str) -> None:
    assert error_codes(post(server, query, auth=auth)) == [code]


def test_a_manager_analyses_inside_the_scope_and_sees_every_agent_that_covers_it(server: str, shared_demo_db: str) -> None:
    manager = token("manager", "99.71")
    got = data(server, '{ coverage(regionCode: "99.71") { villages children { code } } '
                       'regency(code: "99.71") { coverage { villages } } }', auth=manager)
    assert got["coverage"]["villages"] == got["regency"]["coverage"]["villages"] > 0
    assert all(c["code"].startswith("99.71.") for c in got["coverage"]["children"])
    planner = data(server, '{ coverage(regionCode: "99.71") { coveredVillages } }', auth="planner")
    scoped = data(server, '{ coverage(regionCode: "99.71") { coveredVillages } }', auth=manager)
    assert scoped == planner  # coverage counts agents from outside the scope too


def test_an_agent_sees_the_coverage_of_its_own_villages(server: str, shared_demo_db: str) -> None:
    code = fetch(shared_demo_db, "SELECT a.code, r.village_code FROM agent a JOIN agent_reach r ON r.agent_id = a.id "
                                 "WHERE a.status = 'active' ORDER BY a.code LIMIT 1")[0]
    got = data(server, "query($v: String!) { village(code: $v) { coverage { covered agentCount } } }",
               {"v": code["village_code"]}, auth=token("agent", agent=code["code"]))
    assert got["village"]["coverage"]["covered"] is True


# Two days ahead: still in the future when the suite (collected before midnight) reaches this test after it.
TOMORROW = (dt.date.today() + dt.timedelta(days=2)).isoformat()


@pytest.mark.parametrize(("query", "field"), [
    ("{ coverage(activeWithinDays: 0) { villages } }", "activeWithinDays"),
    ("{ coverage(activeWithinDays: 4000) { villages } }", "activeWithinDays"),
    (f'{{ coverage(asOf: "{TOMORROW}") {{ villages }} }}', "asOf"),
    ('{ coverage(regionCode: "99.1") { villages } }', "regionCode"),
    ('{ coverage(regionCode: "99.01.01.2001") { villages } }', "regionCode"),
    ("{ coverageGaps(penetrationBelow: 1.5) { totalCount } }", "penetrationBelow"),
    ("{ coverageGaps(minUncoveredWorkers: -1) { totalCount } }", "minUncoveredWorkers"),
    ("{ coverageGaps(first: 501) { totalCount } }", "first"),
    ('{ coverageGaps(after: "bm90IGEgY3Vyc29y") { totalCount } }', "after"),
    ("{ nearestAgents { distanceM } }", "villageCode"),
    ('{ nearestAgents(villageCode: "99.01.01.2001", point: {lng: 110, lat: -7}) { distanceM } }', "villageCode"),
    ("{ nearestAgents(point: {lng: 200, lat: -7}) { distanceM } }", "point"),
    ("{ nearestAgents(point: {lng: 110, lat: -7}, k: 0) { distanceM } }", "k"),
    ("{ nearestAgents(point: {lng: 110, lat: -7}, k: 101) { distanceM } }", "k"),
    ("{ nearestAgents(point: {lng: 110, lat: -7}, maxDistanceM: -5) { distanceM } }", "maxDistanceM"),
    ('{ nearestAgents(villageCode: "99") { distanceM } }', "villageCode"),
    ('{ agentWorkload(overloadAbove: 0) { totalCount } }', "overloadAbove"),
    ('{ recommendAgentSites(regionCode: "99", count: 0) { rank } }', "count"),
    ('{ recommendAgentSites(regionCode: "99", reachM: 10) { rank } }', "reachM"),
    ('{ recommendAgentSites(regionCode: "99", reachM: 60000) { rank } }', "reachM"),
])
def test_bad_arguments_name_their_field(server: str, query: str, field: str) -> None:
    body = post(server, query)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == field
