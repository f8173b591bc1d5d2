"""Every query is one compiled statement (compiler/), whatever form the client writes: the same
page asked Apollo style (__typename and id everywhere) or Relay style (fragments, inline fragments
on interfaces) gives the same data as asked plainly; errors keep their codes and paths; schema
introspection alone is left to graphql-core."""

from __future__ import annotations

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


def compiles(query: str, variables: dict[str, Any]) -> bool:
    operation = plan_operation(api_schema._schema, parse(query), None, variables)
    return missing(operation.fields, operation.root.name) is None


def plain(value: Any) -> Any:
    """The value without what only Apollo and Relay forms add (__typename, id, cursors)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in ("__typename", "id", "cursor", "pageInfo")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("auth", ["admin", "planner", token("manager", "99.01"), token("agent", agent="AG-000001")],
                         ids=["admin", "planner", "manager", "agent"])
@pytest.mark.parametrize("form", ["apollo", "relay"])
def test_apollo_and_relay_forms_give_the_plain_forms_data(server: str, form: str, auth: str) -> None:
    variables = {"code": "99.01.01", "n": 500}
    ours = post(server, APOLLO if form == "apollo" else RELAY, variables, auth=auth)
    theirs = post(server, NESTED, variables, auth=auth)
    assert [e["extensions"]["code"] for e in ours.get("errors", [])] == \
           [e["extensions"]["code"] for e in theirs.get("errors", [])]
    if theirs.get("data") and theirs["data"].get("district"):
        district = ours["data"]["district"]
        assert plain(district["villages"]) == plain(theirs["data"]["district"]["villages"])
        assert district["villages"]["edges"], "the comparison is not of two empty lists"
        if form == "apollo":
            assert district["__typename"] == "District" and district["villages"]["edges"][0]["node"]["__typename"] == "Village"


@pytest.mark.parametrize(("query", "variables"), COMPILED)
def test_every_client_form_compiles_and_answers(server: str, query: str, variables: dict[str, Any]) -> None:
    assert compiles(query, variables)
    body = post(server, query, variables)
    assert "errors" not in body, body["errors"]
    assert all(v is not None for v in body["data"].values())


def test_introspection_alone_is_answered_and_mixed_with_data_is_refused(server: str) -> None:
    assert not compiles("{ __schema { queryType { name } } }", {})
    assert post(server, "{ __schema { queryType { name } } }")["data"]["__schema"]["queryType"]["name"] == "Query"
    mixed = post(server, "{ __schema { queryType { name } } provinces { totalCount } }")
    assert [e["extensions"]["code"] for e in mixed["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(("query", "variables", "auth", "codes"), [
    (NESTED, {"code": "99.98.01", "n": 5}, "admin", ["NOT_FOUND"]),
    (NESTED, {"code": "99.01.01", "n": 501}, "admin", ["BAD_USER_INPUT"]),
    (NESTED, {"code": "99.01.01", "n": True}, "admin", ["BAD_USER_INPUT"]),  # not an Int: the variable is refused
    (NESTED, {"code": 990101, "n": 2}, "admin", ["BAD_USER_INPUT"]),
    (BBOX, {**BOX, "xmin": True, "n": 5}, "planner", ["BAD_USER_INPUT"]),
    (BBOX, {**BOX, "xmin": "127.9", "n": 5}, "planner", ["BAD_USER_INPUT"]),
    (GAPS, {"code": "99.01", "n": False}, "planner", ["BAD_USER_INPUT"]),
    (NESTED, {"code": "99.01.01", "n": 5}, None, ["UNAUTHENTICATED"]),
    (GAPS, {"code": "99.77", "n": 5}, "planner", ["NOT_FOUND"]),
    (GAPS, {"code": "99.01.01.2001", "n": 5}, "planner", ["BAD_USER_INPUT"]),
    (GAPS, {"code": "99.02", "n": 5}, token("manager", "99.01"), ["FORBIDDEN"]),
    (BBOX, {**BOX, "xmin": 128.2, "n": 5}, "planner", ["BAD_USER_INPUT"]),
    (BBOX, {**BOX, "ymax": 95.0, "n": 5}, "planner", ["BAD_USER_INPUT"]),
])
def test_errors_keep_their_codes(server: str, query: str, variables: dict[str, Any], auth: str | None,
                                 codes: list[str]) -> None:
    body = post(server, query, variables, auth=auth)
    assert [e["extensions"]["code"] for e in body["errors"]] == codes, body


def test_a_compiled_read_stopped_by_the_statement_timeout_is_query_too_complex(
        shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("slow"), PERISAI_STATEMENT_TIMEOUT_MS="1") as server:
        body = post(server, NESTED, {"code": "99.01.01", "n": 500})
    assert body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
