"""Compiled reads (db/compiled.py) give exactly what the ordinary resolvers give, and fall back
for anything they do not build."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse

from db.compiled import NotCompilable, compile_read
from resolvers.compiled import plan
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
COMPILED = [
    (NESTED, {"code": "99.01.01", "n": 500}),
    (NESTED, {"code": "99.01.02", "n": 2}),
    ("""{ a: district(code: "99.01.03") { name villages { edges { node { code } } } } }""", {}),
    ("""{ province(code: "99") { code name areaKm2 } }""", {}),
    (BBOX, {**BOX, "n": 500}),
    (BBOX, {**BOX, "n": 3}),
    ("""{ villages(filter: {bbox: [127, -8, 129, -5]}) { edges { node { code name labelPoint } } } }""", {}),
    (GAPS, {"code": "99", "n": 500}),
    (GAPS, {"code": "99.01", "n": 4}),
    ("""query($k: GapKind!) { coverageGaps(regionCode: "99", kind: $k, first: 3) { edges { node { village { code } } } } }""",
     {"k": "UNREACHED"}),  # an enum variable arrives as the Python member
    ("""{ g: coverageGaps(regionCode: "99.01", kind: UNREACHED, first: 2) { edges { node { village { code } } } }
         d: district(code: "99.01.01") { code } }""", {}),
]
FALLBACK = [
    ("""{ district(code: "99.01.01") { villages(filter: {nameContains: "a"}) { totalCount } } }""", {}),
    ("""{ district(code: "99.01.01") { __typename name } }""", {}),
    ("""{ district(code: "99.01.01") { ...d } } fragment d on District { name }""", {}),
    ("""{ district(code: "99.01.01") { villages(first: 2) { edges { node { enrollments(first: 1) { totalCount } } } } } }""", {}),
    ("""{ district(code: "99.01.01") { villages(first: 2) { pageInfo { hasNextPage } } } }""", {}),
    ("""{ village(code: "99.01.01.2001") { name } }""", {}),
    ("""{ district(code: "99.01.01") { geometry(simplifyM: 50) } }""", {}),
    ("""query($code: String = "99.01.01") { district(code: $code) { name } }""", {}),
    ("""{ district(code: "99.01.01") { code } district(code: "99.01.01") { name } }""", {}),  # merged fields
    ("""{ villages(filter: {bbox: [127, -8, 129, -5], nameContains: "a"}) { totalCount } }""", {}),
    ("""{ coverageGaps(regionCode: "99.01") { edges { node { village { code } } } } }""", {}),  # kind ALL
    ("""{ coverageGaps(regionCode: "99.01", kind: UNREACHED, activeWithinDays: 30) { totalCount } }""", {}),
    ("""{ coverageGaps(regionCode: "99.01", kind: UNREACHED) { edges { node { reasons } } } }""", {}),
    ("""{ coverageGaps(kind: UNREACHED) { totalCount } }""", {}),  # all Indonesia
    ("""{ villages(filter: null, first: 2) { totalCount } }""", {}),
    ("""{ villages(first: 2) { totalCount } }""", {}),
]


@pytest.fixture(scope="module")
def servers(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("compiled")) as compiled, \
            running_server(shared_demo_db, tmp_path_factory.mktemp("plain"), PERISAI_COMPILE_READS="false") as plain:
        yield compiled, plain


def compiles(query: str, variables: dict[str, Any]) -> bool:
    try:
        compile_read(plan(api_schema._schema, parse(query), None, variables))
    except NotCompilable:
        return False
    return True


@pytest.mark.parametrize(("query", "variables"), COMPILED)
@pytest.mark.parametrize("role", ["admin", "planner"])
def test_compiled_answers_equal_the_resolvers(servers: tuple[str, str], query: str, variables: dict[str, Any],
                                              role: str) -> None:
    compiled, plain = servers
    assert compiles(query, variables)
    ours, theirs = post(compiled, query, variables, auth=role), post(plain, query, variables, auth=role)
    assert "errors" not in theirs and ours == theirs
    assert all(theirs["data"].values())  # every root found: the comparison is not of two nulls
    for root in theirs["data"].values():  # and the lists compared are not empty
        assert (root.get("villages") or root).get("edges", [None])


@pytest.mark.parametrize(("query", "variables"), COMPILED)
@pytest.mark.parametrize("caller", ["manager of 99.01", "agent AG-000001"])
def test_scoped_callers_get_what_the_resolvers_give_them(servers: tuple[str, str], query: str,
                                                         variables: dict[str, Any], caller: str) -> None:
    """Managers and agents see part of the data; the compiled path leaves them to the resolvers."""
    compiled, plain = servers
    role, who = caller.split(" ")[0], caller.split(" ")[-1]
    auth = token("manager", who) if role == "manager" else token("agent", agent=who)
    assert post(compiled, query, variables, auth=auth) == post(plain, query, variables, auth=auth)


@pytest.mark.parametrize(("query", "variables"), FALLBACK)
def test_what_does_not_compile_is_resolved_as_usual(servers: tuple[str, str], query: str,
                                                    variables: dict[str, Any]) -> None:
    compiled, plain = servers
    assert not compiles(query, variables)
    assert post(compiled, query, variables) == post(plain, query, variables)


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
    assert post(compiled, query, variables, auth=auth) == post(plain, query, variables, auth=auth)


def test_a_compiled_read_stopped_by_the_statement_timeout_is_query_too_complex(
        shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("slow"), PERISAI_STATEMENT_TIMEOUT_MS="1") as server:
        body = post(server, NESTED, {"code": "99.01.01", "n": 500})
    assert body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
