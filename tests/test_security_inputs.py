"""Bad input an attacker or a fuzzer sends: each is a coded GraphQL error naming what is wrong,
never INTERNAL_SERVER_ERROR, and nothing is written."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from strawberry.relay import to_base64

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, error_codes, fetch, post, running_server, table_counts, token


def cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


@pytest.mark.parametrize("query, variables, field", [
    ('query($n: String!) { villages(filter: {nameContains: $n}) { totalCount } }', {"n": "a\x00b"}, "n"),
    ('query($c: String!) { village(code: $c) { code } }', {"c": "99.01\x00"}, "c"),
    ('query($c: String!) { regency(code: $c) { code } }', {"c": "\x00"}, "c"),
    ('query($f: RegionFilter) { villages(filter: $f) { totalCount } }', {"f": {"regionCode": "99\x00"}}, "f.regionCode"),
    ('{ villages(filter: {nameContains: "a\\u0000b"}) { totalCount } }', {}, "filter.nameContains"),
    ('{ village(code: "\\u0000") { code } }', {}, "code"),
    ('query($a: String) { villages(first: 1, after: $a) { totalCount } }', {"a": "x\x00"}, "a"),
])
def test_nul_in_any_text_argument_is_bad_user_input(server: str, query: str, variables: dict[str, Any], field: str) -> None:
    body = post(server, query, variables)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == field and "NUL" in body["errors"][0]["message"]


@pytest.mark.parametrize("after", [
    cursor(2**63), cursor(-(2**63) - 5), cursor(2**64), cursor(10**30), cursor("x" * 300), cursor("a\x00"),
    cursor(1.5), cursor(None), cursor(), "%%%", "",
])
def test_forged_cursors_are_refused_by_range_and_type(server: str, after: str) -> None:
    for query in ('query($a: String) { agents(first: 2, after: $a) { totalCount } }',
                  'query($a: String) { villages(first: 2, after: $a) { totalCount } }',
                  'query($a: String) { auditLog(first: 2, after: $a) { edges { node { action } } } }'):
        body = post(server, query, {"a": after})
        assert error_codes(body) == ["BAD_USER_INPUT"], (query, body)
        assert body["errors"][0]["extensions"]["field"] == "after"


@pytest.mark.parametrize("node_id", [
    to_base64("Node", "1"), to_base64("AdministrativeRegion", "99"), to_base64("Query", "1"), to_base64("String", "x"),
    to_base64("Agent", "\x00"), to_base64("Agent", "not-a-number"), to_base64("Agent", str(2**63)),
    to_base64("Village", "\x00"), to_base64("Enrollment", "-1e9"), "not base64 at all", "", "Tm9kZQ==",
])
def test_node_ids_that_name_no_node_are_refused(server: str, node_id: str) -> None:
    body = post(server, 'query($id: ID!) { node(id: $id) { id } }', {"id": node_id})
    codes = error_codes(body)
    assert codes in (["BAD_USER_INPUT"], []), body
    if not codes:
        assert body["data"]["node"] is None  # a well-formed id of a real type that names no row


@pytest.fixture(scope="module")
def writable(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("inputs"))) as server:
            yield url, server


def test_nul_in_a_write_is_refused_and_nothing_is_written(writable: tuple[str, str]) -> None:
    url, server = writable
    village = fetch(url, "SELECT code, ST_X(label_point) lng, ST_Y(label_point) lat FROM village ORDER BY code LIMIT 1")[0]
    before = table_counts(url)
    body = post(server, "mutation($i: AgentInput!) { createAgent(input: $i) { code } }", {"i": {
        "code": "NUL-1", "name": "Budi\x00", "homeVillageCode": village["code"],
        "location": {"lng": village["lng"], "lat": village["lat"]}}})
    assert error_codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["field"] == "i.name", body
    assert table_counts(url) == before


def test_expected_refusals_are_one_log_line_and_responses_carry_a_request_id(
        demo_db: str, tmp_path: Path) -> None:
    with running_server(demo_db, tmp_path) as server:
        for query in ('{ village(code: "nope") { code } }', '{ village(code: "99.01.01.9999") { code } }', "{ nope }"):
            response = httpx.post(f"{server}/graphql", json={"query": query},
                                  headers={"authorization": f"Bearer {token()}", "x-request-id": "probe-1"})
            assert response.headers["x-request-id"] == "probe-1"
        anonymous = httpx.post(f"{server}/graphql", json={"query": "{ __typename }"})
        generated = anonymous.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{16}", generated)
        linked = httpx.get(f"{server}/maps/districts/99.01.01", params={"token": token()})
        assert linked.status_code == 401  # an API token in a URL is refused
    logs = "".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    lines = [orjson.loads(line) for line in logs.splitlines() if line.startswith("{")]
    refusals = [line for line in lines if line["message"].startswith("refused")]
    assert {r["message"].split(":")[0] for r in refusals} >= {
        "refused BAD_USER_INPUT", "refused NOT_FOUND", "refused GRAPHQL_VALIDATION_FAILED", "refused UNAUTHENTICATED"}
    assert all(r["request_id"] for r in refusals) and any(r["request_id"] == "probe-1" for r in refusals)
    assert "Traceback" not in logs
    access = [line for line in lines if line["name"] == "perisai.access"]
    assert any(line["request_id"] == generated for line in access)
    assert token() not in logs and "token=" not in logs  # query strings never reach the log
