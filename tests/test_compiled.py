"""Compiled reads (compiler/) give exactly what the ordinary resolvers give, whatever form the
client writes (fragments, inline fragments on interfaces, __typename, aliases, directives,
variables with defaults) and whoever asks; fields not compiled yet fall back to the resolvers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse

from compiler.execute import missing
from compiler.plan import plan_operation
from schema import schema as api_schema
from tests.conftest import post, running_server, token

NESTED = """query Page($code: String!, $n: Int!) {
  district(code: $code) {
    code name areaKm2 geometry(precision: 9)
    villages(first: $n) {
      totalCount
      edges { node {
        code name informalWorkers population g: geometry
        agentsInReach(first: 3) { totalCount edges { distanceM node { name reachM code } } }
        enrollments(first: 0) { totalCount }
      } }
    }
  }
  regency(code: "99.01") { name geometry(precision: 4) }
}"""
BBOX = """query Box($xmin: Float!, $ymin: Float!, $xmax: Float!, $ymax: Float!, $n: Int!) {
  villages(filter: {bbox: [$xmin, $ymin, $xmax, $ymax]}, first: $n) {
    totalCount edges { node { code geometry(precision: 9) labelPoint(precision: 6) informalWorkers } }
  }
}"""
GAPS = """query Gaps($code: String!, $n: Int!) {
  coverageGaps(regionCode: $code, kind: UNREACHED, first: $n) {
    totalCount edges { node { village { code name labelPoint(precision: 9) informalWorkers
                                        enrollments(first: 0) { totalCount } } } }
  }
}"""
BOX = {"xmin": 127.9, "ymin": -6.6, "xmax": 128.1, "ymax": -6.4}  # around the demo region's centre
APOLLO = """query Page($code: String!, $n: Int!) {
  district(code: $code) { __typename id code name areaKm2 geometry(precision: 9)
    villages(first: $n) { __typename totalCount pageInfo { __typename hasNextPage endCursor }
      edges { __typename cursor node { __typename id code name informalWorkers population g: geometry
        agentsInReach(first: 3) { __typename totalCount edges { __typename distanceM node { __typename id name reachM code } } }
        enrollments(first: 0) { __typename totalCount } } } } }
  regency(code: "99.01") { __typename id name geometry(precision: 4) }
}"""
RELAY = """query Page($code: String!, $n: Int!) { district(code: $code) { ...District_header villages(first: $n) {
    ...VillageList } } regency(code: "99.01") { ... on AdministrativeRegion { name } ...Regency_shape } }
fragment District_header on District { id code name areaKm2 ... on Node { id } }
fragment VillageList on VillageConnection { totalCount edges { cursor node { ...Village_row } } }
fragment Village_row on Village { id code name ...Village_figures agentsInReach(first: 3) { totalCount
    edges { distanceM node { ...Agent_chip } } } enrollments(first: 0) { totalCount } }
fragment Village_figures on Village { informalWorkers population g: geometry }
fragment Agent_chip on Agent { id name reachM code }
fragment Regency_shape on Regency { geometry(precision: 4) province { name } }"""
EVERYTHING = """query($v: String = "99.01.01.2001", $skip: Boolean = true, $with: Boolean = false) {
  me { subject role scope agentCode }
  village(code: $v) { code population estimateSource estimateYear labelPoint(precision: 4)
    district { code regency { code province { code } } } regency { code } province { code }
    skipped: name @skip(if: $skip) kept: name @include(if: true) gone: code @include(if: $with)
    near: agentsInReach(first: 2) { edges { node { code status joinedOn location(precision: 3)
      homeVillage { code } villagesInReach(first: 3, filter: {regionCode: "99.01"}) { totalCount edges { distanceM node { code } } }
      enrollments(last: 2) { pageInfo { hasPreviousPage hasNextPage startCursor endCursor } edges { node { id status
        programmes monthlyContributionIdr enrolledOn lastPaidOn participant { id occupation village { code } } } } } } } }
    far: agentsInReach(first: 1, after: null) { totalCount }
    enrollments(first: 3, filter: {status: ACTIVE}) { totalCount edges { node { agent { code } village { code } } } } }
  provinces(last: 1) { edges { node { code regencies(first: 2) { edges { node { code mapUrl(basemap: NONE) districts(first: 1) {
    edges { node { code mapUrl agents(first: 2) { totalCount edges { node { code } } } } } } } } } } } }
  agents(first: 3, filter: {near: {lng: 128.0, lat: -6.5, radiusM: 20000}}) { edges { distanceM node { code } } }
  enrollments(first: 2, filter: {regionCode: "99.01"}) { totalCount edges { node { id } } }
  villages(last: 2, before: "WyI5OS4wMS4wMS4yMDA1Il0=") { pageInfo { hasNextPage hasPreviousPage } edges { node { code } } }
}"""
COMPILED = [
    (APOLLO, {"code": "99.01.01", "n": 500}),
    (RELAY, {"code": "99.01.02", "n": 5}),
    (EVERYTHING, {}),
    ("""query($d: String = "99.01.01") { district(code: $d) { villages(first: 2) { pageInfo { hasNextPage } } } }""", {}),
    ("""{ district(code: "99.01.01") { a: villages(first: 1) { totalCount } b: villages(first: 3, filter: {nameContains: "a"}) {
         totalCount edges { node { name } } } } }""", {}),
    ("""{ d1: district(code: "99.01.01") { code } d2: district(code: "99.01.02") { name } }""", {}),
    (NESTED, {"code": "99.01.01", "n": 500}),
    (NESTED, {"code": "99.01.02", "n": 2}),
    ("""{ a: district(code: "99.01.03") { name villages { edges { node { code } } } } }""", {}),
    ("""{ province(code: "99") { code name areaKm2 } }""", {}),
    (BBOX, {**BOX, "n": 500}),
    (BBOX, {**BOX, "n": 3}),
    ("""{ villages(filter: {bbox: [127, -8, 129, -5]}) { edges { node { code name labelPoint } } } }""", {}),
    ("""{ villages(filter: null, first: 2) { totalCount } }""", {}),
    ("""{ villages(first: 2) { totalCount } }""", {}),
    (GAPS, {"code": "99", "n": 500}),
    (GAPS, {"code": "99.01", "n": 4}),
    ("""query($k: GapKind!) { coverageGaps(regionCode: "99", kind: $k, first: 3) { edges { node { village { code } } } } }""",
     {"k": "UNREACHED"}),  # an enum variable arrives as the Python member
    ("""{ g: coverageGaps(regionCode: "99.01", kind: UNREACHED, first: 2) { edges { node { village { code } } } }
         d: district(code: "99.01.01") { code } }""", {}),
    ("""{ district(code: "99.01.01") { coverage { villages } } }""", {}),
    ("""{ coverageGaps(regionCode: "99.01") { edges { node { village { code } } } } }""", {}),  # kind ALL
    ("""{ coverageGaps(regionCode: "99.01", kind: UNREACHED, activeWithinDays: 30) { totalCount } }""", {}),
    ("""{ coverageGaps(regionCode: "99.01", kind: UNREACHED) { edges { node { reasons } } } }""", {}),
    ("""{ coverageGaps(kind: UNREACHED) { totalCount } }""", {}),  # all Indonesia
]
FALLBACK = [
    ("""{ __schema { queryType { name } } }""", {}),  # introspection: graphql-core answers it
]


@pytest.fixture(scope="module")
def servers(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("compiled")) as compiled, \
            running_server(shared_demo_db, tmp_path_factory.mktemp("plain"), PERISAI_COMPILE_READS="false") as plain:
        yield compiled, plain


def ask(server: str, query: str, variables: dict[str, Any], auth: str | None = "admin") -> Any:
    """The response, with what must differ between two servers taken out of map links (their
    origin, and the signed link token, whose issue time may fall in another second)."""
    text = json.dumps(post(server, query, variables, auth=auth))
    return json.loads(re.sub(r"token=[\w.-]+", "token=T", re.sub(r"http://127\.0\.0\.1:\d+", "", text)))


def compiles(query: str, variables: dict[str, Any]) -> bool:
    operation = plan_operation(api_schema._schema, parse(query), None, variables)
    return missing(operation.fields, operation.root.name) is None


@pytest.mark.parametrize(("query", "variables"), COMPILED)
@pytest.mark.parametrize("role", ["admin", "planner"])
def test_compiled_answers_equal_the_resolvers(servers: tuple[str, str], query: str, variables: dict[str, Any],
                                              role: str) -> None:
    compiled, plain = servers
    assert compiles(query, variables)
    ours, theirs = ask(compiled, query, variables, auth=role), ask(plain, query, variables, auth=role)
    assert "errors" not in theirs and ours == theirs
    assert all(theirs["data"].values())  # every root found: the comparison is not of two nulls
    for root in theirs["data"].values():  # and the lists compared are not empty
        assert (root.get("villages") or root).get("edges", [None]) if isinstance(root, dict) else root


@pytest.mark.parametrize(("query", "variables"), COMPILED)
@pytest.mark.parametrize("caller", ["manager of 99.01", "agent AG-000001"])
def test_scoped_callers_get_what_the_resolvers_give_them(servers: tuple[str, str], query: str,
                                                         variables: dict[str, Any], caller: str) -> None:
    """Managers and agents see part of the data; the compiled path leaves them to the resolvers."""
    compiled, plain = servers
    role, who = caller.split(" ")[0], caller.split(" ")[-1]
    auth = token("manager", who) if role == "manager" else token("agent", agent=who)
    assert ask(compiled, query, variables, auth=auth) == ask(plain, query, variables, auth=auth)


@pytest.mark.parametrize(("query", "variables"), FALLBACK)
def test_what_does_not_compile_is_resolved_as_usual(servers: tuple[str, str], query: str,
                                                    variables: dict[str, Any]) -> None:
    compiled, plain = servers
    assert not compiles(query, variables)
    assert ask(compiled, query, variables) == ask(plain, query, variables)


@pytest.mark.parametrize(("query", "variables", "auth"), [
    (NESTED, {"code": "99.98.01", "n": 5}, "admin"),  # no such district: NOT_FOUND from the resolvers
    (NESTED, {"code": "99.01.01", "n": 501}, "admin"),  # page too large: BAD_USER_INPUT
    (NESTED, {"code": "99.01.01", "n": True}, "admin"),  # not an Int: the variable is refused
    (NESTED, {"code": "99.01.01", "n": 2.0}, "admin"),
    (NESTED, {"code": 990101, "n": 2}, "admin"),
    (BBOX, {**BOX, "xmin": True, "n": 5}, "planner"),
    (BBOX, {**BOX, "xmin": "127.9", "n": 5}, "planner"),
    (GAPS, {"code": "99.01", "n": False}, "planner"),
    (NESTED, {"code": "99.01.01", "n": 5}, None),  # no token
    (NESTED, {"code": "99.01.01", "n": 5}, token("manager", "99.01")),  # scoped callers are not compiled
    (GAPS, {"code": "99.77", "n": 5}, "planner"),  # no such regency: NOT_FOUND
    (GAPS, {"code": "99.01.01.2001", "n": 5}, "planner"),  # a village: BAD_USER_INPUT
    (GAPS, {"code": "99.01", "n": 5}, token("manager", "99.01")),
    (GAPS, {"code": "99.02", "n": 5}, token("manager", "99.01")),  # outside the manager's scope
    (BBOX, {**BOX, "xmin": 128.2, "n": 5}, "planner"),  # min above max: BAD_USER_INPUT
    (BBOX, {**BOX, "ymax": 95.0, "n": 5}, "planner"),  # latitude out of range
    (BBOX, {**BOX, "n": 5}, token("manager", "99.01")),
])
def test_errors_and_scoped_callers_take_the_ordinary_path(servers: tuple[str, str], query: str,
                                                          variables: dict[str, Any], auth: str | None) -> None:
    compiled, plain = servers
    assert ask(compiled, query, variables, auth=auth) == ask(plain, query, variables, auth=auth)


def test_a_compiled_read_stopped_by_the_statement_timeout_is_query_too_complex(
        shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("slow"), PERISAI_STATEMENT_TIMEOUT_MS="1") as server:
        body = post(server, NESTED, {"code": "99.01.01", "n": 500})
    assert body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
