"""Compiled reads (db/compiled.py) give exactly what the ordinary resolvers give, and fall back
for anything they do not build."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse

from db.compiled import NotCompilable, compile_read
from resolvers.compiled import plan
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
COMPILED = [
    (NESTED, {"code": "99.01.01", "n": 500}),
    (NESTED, {"code": "99.01.02", "n": 2}),
    ("""{ a: district(code: "99.01.03") { name villages { edges { node { code } } } } }""", {}),
    ("""{ province(code: "99") { code name areaKm2 } }""", {}),
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
]


@pytest.fixture(scope="module")
def servers(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("compiled")) as compiled, \
            running_server(shared_demo_db, tmp_path_factory.mktemp("plain"), PERISAI_COMPILE_READS="false") as plain:
        yield compiled, plain


def compiles(query: str, variables: dict[str, Any]) -> bool:
    try:
        compile_read(plan(parse(query), None, variables))
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
    if "district" in theirs["data"]:
        assert theirs["data"]["district"]["villages"]["edges"]


@pytest.mark.parametrize(("query", "variables"), FALLBACK)
def test_what_does_not_compile_is_resolved_as_usual(servers: tuple[str, str], query: str,
                                                    variables: dict[str, Any]) -> None:
    compiled, plain = servers
    assert not compiles(query, variables)
    assert post(compiled, query, variables) == post(plain, query, variables)


@pytest.mark.parametrize(("query", "variables", "auth"), [
    (NESTED, {"code": "99.98.01", "n": 5}, "admin"),  # no such district: NOT_FOUND from the resolvers
    (NESTED, {"code": "99.01.01", "n": 501}, "admin"),  # page too large: BAD_USER_INPUT
    (NESTED, {"code": "99.01.01", "n": 5}, None),  # no token
    (NESTED, {"code": "99.01.01", "n": 5}, token("manager", "99.01")),  # scoped callers are not compiled
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
