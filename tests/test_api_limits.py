"""Limits against abusive queries, production mode and masked errors: each refusal is a GraphQL
error with a code, never a 500 or a hung worker."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import data, error_codes, fetch, post, running_server


def refused(body: dict) -> str:
    assert body.get("data") is None and error_codes(body) == ["QUERY_TOO_COMPLEX"], body
    return str(body["errors"][0]["message"])


def test_depth_limit(server: str) -> None:
    level = "districts(first: 1) { edges { node { villages(first: 1) { edges { node { district { regency { "
    close = "} " * 8
    query = "{ regency(code: \"99.01\") { " + level * 3 + "code" + close * 3 + " } }"
    assert "depth" in refused(post(server, query))
    assert "errors" not in post(server, "{ regency(code: \"99.01\") { " + level + "code" + close + " } }")


def test_token_limit(server: str) -> None:
    assert "token" in refused(post(server, "{ " + "__typename " * 6000 + "}"))


def test_alias_limit(server: str) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    assert "aliases" in refused(post(server, "{ " + aliases + " }"))
    assert "errors" not in post(server, "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }")


def test_cost_limit_multiplies_page_sizes_including_variables_and_fragments(server: str) -> None:
    within = "{ villages(first: 500) { edges { node { enrollments(first: 500) { totalCount } } } } }"
    assert "errors" not in post(server, within)  # 500 + 500 × 500 = 250,500
    message = refused(post(server, """query($n: Int!) { villages(first: $n) { ...deep } }
        fragment deep on VillageConnection { edges { node { enrollments(first: 500) { totalCount }
          agentsInReach(first: 500) { totalCount } } } }""", {"n": 500}))
    assert "500,500" in message and "first/last" in message
    default_sizes = "{ provinces { edges { node { regencies { edges { node { districts { totalCount } } } } } } } }"
    assert "1,010,100" in refused(post(server, default_sizes))  # 100 per page when not given
    # A variable left out counts its default: 500 + 500 × 500 + 500 × 500 × 2 = 750,500 (not 100 per page).
    by_default = """query($n: Int = 500) { villages(first: $n) { edges { node {
        agentsInReach(first: $n) { edges { node { villagesInReach(first: 2) { totalCount } } } } } } } }"""
    for _ in range(2):  # the same document again: the estimate is not kept from the first request
        assert "750,500" in refused(post(server, by_default))
    assert "errors" not in post(server, by_default, {"n": 10})  # 10 + 100 + 200


@pytest.fixture(scope="module")
def slow_server(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory):
    with running_server(shared_demo_db, tmp_path_factory.mktemp("slow"), PERISAI_STATEMENT_TIMEOUT_MS="1") as base:
        yield base


def test_statement_timeout_is_a_coded_error_and_the_worker_lives_on(slow_server: str) -> None:
    area = {"type": "Polygon", "coordinates": [[[120, -11], [140, -11], [140, 5], [120, 5], [120, -11]]]}
    heavy = """query($g: GeoJSON) { villages(first: 500, filter: {intersects: $g}) { totalCount edges { node {
        geometry agentsInReach(first: 50) { totalCount } enrollments(first: 100) { totalCount } } } } }"""
    message = refused(post(slow_server, heavy, {"g": area}))
    assert "time limit" in message
    assert httpx.get(f"{slow_server}/healthz").status_code == 200


def test_unexpected_errors_are_masked_with_an_id_that_is_logged(demo_db: str, tmp_path: Path) -> None:
    with running_server(demo_db, tmp_path) as server:
        fetch(demo_db, "ALTER TABLE enrollment RENAME TO enrollment_moved")  # a broken deployment
        body = post(server, "{ enrollments { totalCount } }")
        logs = "".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "enrollment" not in error["message"] and "relation" not in error["message"]
    error_id = error["extensions"]["errorId"]
    assert re.fullmatch(r"[0-9a-f]{12}", error_id) and error_id in error["message"]
    assert f"unexpected error {error_id}" in logs and "Traceback" in logs and "enrollment" in logs


def test_production_turns_off_introspection_and_graphiql(shared_demo_db: str, tmp_path: Path) -> None:
    with running_server(shared_demo_db, tmp_path, PERISAI_ENV="production") as server:
        body = post(server, "{ __schema { queryType { name } } }")
        assert body.get("data") is None and "introspection" in body["errors"][0]["message"].lower()
        page = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        assert data(server, "{ provinces { totalCount } }")["provinces"]["totalCount"] > 0
        # No guesses at field, argument or enum names for whoever probes a production server.
        for probe in ("{ provincez { code } }", '{ provinces(frist: 1) { totalCount } }',
                      'query($k: GapKind!) { coverageGaps(kind: $k) { totalCount } }'):
            body = post(server, probe, {"k": "UNREACHE"} if "$k" in probe else None)
            assert body["errors"] and not any("Did you mean" in e["message"] for e in body["errors"]), body


def test_development_suggests_names(server: str) -> None:
    body = post(server, "{ provincez { code } }")
    assert "Did you mean" in body["errors"][0]["message"]
