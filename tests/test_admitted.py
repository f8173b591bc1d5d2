"""The short path for admitted queries (schema/admitted.py) answers exactly what the full path does.

Each case is sent twice over HTTP: once with its persisted-query hash (which always takes
Strawberry's full pipeline) and once as a plain POST of the same text, which takes the short path
once the text has been admitted. The server's own counter says which path answered; status,
caching headers and body must be equal, for answers and for every kind of refusal that depends
on the request (cost, NUL characters, variable types, scope, sign-in, missing regions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import fetch, running_server, token

DISTRICT = """query District($code: String!, $villages: Int = 10, $name: String) {
  district(code: $code) { __typename code name
    villages(first: $villages, filter: {nameContains: $name}) { totalCount
      edges { node { __typename code name informalWorkers coverage { covered agentCount activeEnrollments } } } } } }"""

PERSONAL = """query Agents { agents(first: 2) { edges { node { code name phone } } } }"""

MAYBE_INTROSPECTION = """query Maybe($schema: Boolean!) { __typename
  provinces(first: 1) @skip(if: $schema) { totalCount }
  __schema @include(if: $schema) { queryType { name } } }"""

TWO_OPERATIONS = """query One { provinces(first: 1) { totalCount } }
query Two { village(code: "99.01.01.2001") { code name } }"""


@pytest.fixture(scope="module")
def server(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("admitted")) as base:
        yield base


def admitted_count(server: str, series: str = "perisai_graphql_admitted_queries_total") -> float:
    """A counter's value on the server (0 before it first counts); by default, admitted queries."""
    text = httpx.get(f"{server}/metrics").text
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def send(server: str, query: str, variables: dict[str, Any] | None, auth: str | None, *, hashed: bool,
         operation: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"query": query, "variables": variables, "operationName": operation}
    if hashed:
        body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    headers = {"authorization": f"Bearer {auth}"} if auth else {}
    return httpx.post(f"{server}/graphql", json=body, headers=headers, timeout=60)


def both_paths(server: str, query: str, variables: dict[str, Any] | None, auth: str | None,
               operation: str | None = None) -> tuple[httpx.Response, httpx.Response, float]:
    """(full path's response, short path's response, how many requests the short path answered)."""
    full = send(server, query, variables, auth, hashed=True, operation=operation)
    before = admitted_count(server)
    short = send(server, query, variables, auth, hashed=False, operation=operation)
    return full, short, admitted_count(server) - before


def admit(server: str, query: str, variables: dict[str, Any], operation: str | None = None) -> None:
    response = send(server, query, variables, token("admin"), hashed=False, operation=operation)
    assert response.status_code == 200 and "errors" not in response.json(), response.text


def same(full: httpx.Response, short: httpx.Response) -> None:
    assert short.status_code == full.status_code
    for header in ("cache-control", "retry-after", "content-type"):
        assert short.headers.get(header) == full.headers.get(header), header
    assert short.json() == full.json()


ADMIN = token("admin")


@pytest.mark.parametrize("variables, codes", [
    ({"code": "99.01.01"}, []),
    ({"code": "99.01.01", "villages": 3, "name": "a"}, []),
    ({"code": "99.99.99"}, ["NOT_FOUND"]),
    ({"code": "99.01.01", "villages": 1_000_000}, ["QUERY_TOO_COMPLEX"]),
    ({"code": "99.01.01", "name": "a\u0000b"}, ["BAD_USER_INPUT"]),
    ({"code": "99.01.01", "villages": "ten"}, ["BAD_USER_INPUT"]),
    ({"code": "99.01.01", "villages": -1}, ["BAD_USER_INPUT"]),
    ({"code": "not a code"}, ["BAD_USER_INPUT"]),
    ({}, ["BAD_USER_INPUT"]),
])
def test_short_path_answers_and_refuses_like_the_full_path(server: str, variables: dict[str, Any],
                                                          codes: list[str]) -> None:
    admit(server, DISTRICT, {"code": "99.01.01"})
    full, short, answered = both_paths(server, DISTRICT, variables, ADMIN)
    assert answered == 1
    same(full, short)
    assert [e["extensions"]["code"] for e in short.json().get("errors", [])] == codes
    if not codes:
        assert short.json()["data"]["district"]["code"] == "99.01.01"


@pytest.mark.parametrize("role", ["manager", "agent"])
def test_scoped_callers_get_on_the_short_path_what_they_get_on_the_full_path(server: str, role: str) -> None:
    caller = token("manager", "99.01.02") if role == "manager" else token("agent", agent="AG-000001")
    admit(server, DISTRICT, {"code": "99.01.01"})
    full, short, answered = both_paths(server, DISTRICT, {"code": "99.01.01"}, caller)
    assert answered == 1
    same(full, short)


def test_a_planner_is_refused_personal_fields_on_the_short_path_too(server: str) -> None:
    admit(server, PERSONAL, {})
    full, short, answered = both_paths(server, PERSONAL, {}, token("planner"))
    assert answered == 1
    same(full, short)
    assert "FORBIDDEN" in [e["extensions"]["code"] for e in short.json()["errors"]]


@pytest.mark.parametrize("auth", [None, "not-a-token", token("admin", ttl=dt.timedelta(seconds=-1))])
def test_sign_in_is_checked_before_an_admitted_query_is_answered(server: str, auth: str | None) -> None:
    admit(server, DISTRICT, {"code": "99.01.01"})
    full, short, answered = both_paths(server, DISTRICT, {"code": "99.01.01"}, auth)
    assert answered == 0  # the full path refuses it
    same(full, short)
    assert [e["extensions"]["code"] for e in short.json()["errors"]] == ["UNAUTHENTICATED"]


def test_variables_that_leave_only_introspection_take_the_full_path(server: str) -> None:
    admit(server, MAYBE_INTROSPECTION, {"schema": False})
    full, short, answered = both_paths(server, MAYBE_INTROSPECTION, {"schema": True}, ADMIN)
    assert answered == 0
    same(full, short)
    assert short.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    full, short, answered = both_paths(server, MAYBE_INTROSPECTION, {"schema": False}, ADMIN)
    assert answered == 1
    same(full, short)


def test_each_operation_of_a_document_is_admitted_by_its_own_name(server: str) -> None:
    admit(server, TWO_OPERATIONS, {}, operation="One")
    before = admitted_count(server)
    first = send(server, TWO_OPERATIONS, {}, ADMIN, hashed=False, operation="Two")
    assert admitted_count(server) == before  # "Two" was never checked as such: the full path answers it
    full, short, answered = both_paths(server, TWO_OPERATIONS, {}, ADMIN, operation="Two")
    assert answered == 1
    same(full, short)
    same(first, short)
    assert short.json()["data"]["village"]["code"] == "99.01.01.2001"
    # Without operationName, a document of several operations is refused (GraphQL's rule), never admitted.
    full, short, answered = both_paths(server, TWO_OPERATIONS, {}, ADMIN, operation=None)
    assert answered == 0
    same(full, short)
    assert short.json()["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in short.json()["errors"]] == \
        [("BAD_USER_INPUT", "operationName")]


def test_a_document_refused_as_such_is_never_admitted(server: str) -> None:
    nul_literal = 'query { villages(first: 1, filter: {nameContains: "a\\u0000"}) { totalCount } }'
    for _ in range(2):
        full, short, answered = both_paths(server, nul_literal, {}, ADMIN)
        assert answered == 0
        same(full, short)
        assert [e["extensions"]["code"] for e in short.json()["errors"]] == ["BAD_USER_INPUT"]


def test_a_document_of_several_mutations_without_operation_name_runs_none(server: str, shared_demo_db: str) -> None:
    """GraphQL's rule; Strawberry alone would run the first mutation, which the client did not choose."""
    document = """mutation Leave { setAgentStatus(code: "AG-000001", status: INACTIVE) { status } }
mutation Return { setAgentStatus(code: "AG-000001", status: ACTIVE) { status } }"""
    before = fetch(shared_demo_db, "SELECT status::text FROM agent WHERE code = 'AG-000001'")[0][0]
    assert before == "active"  # so that running the first mutation would show
    body = send(server, document, None, ADMIN, hashed=False).json()
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == \
        [("BAD_USER_INPUT", "operationName")]
    assert "2 operations (Leave, Return)" in body["errors"][0]["message"]
    assert fetch(shared_demo_db, "SELECT status::text FROM agent WHERE code = 'AG-000001'")[0][0] == before
    named = send(server, document, None, ADMIN, hashed=False, operation="Return").json()
    assert named == {"data": {"setAgentStatus": {"status": "ACTIVE"}}}
