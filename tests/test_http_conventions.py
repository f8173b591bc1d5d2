"""HTTP as browsers, phones and proxies use it: compression, CORS, persisted queries, cacheable GET."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cramjam
import httpx
import pytest

from server.persisted import load_registered
from tests.conftest import error_codes, running_server, token

DASHBOARD = "https://dashboard.example.go.id"
VILLAGES = '{ villages(filter: {regionCode: "99.01"}, first: 100) { edges { node { code name geometry } } } }'
PROVINCES = "{ provinces { edges { node { code name } } } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def open_server(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Anonymous requests read as planners (a public dashboard), one browser origin allowed."""
    with running_server(shared_demo_db, tmp_path_factory.mktemp("http"), PERISAI_ANONYMOUS_ROLE="planner",
                        PERISAI_CORS_ORIGINS=f"{DASHBOARD}, https://other.example.go.id") as base:
        yield base


def gql(server: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server}/graphql", json=body, headers=headers or {}, timeout=60)


# --- compression ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_large_answers_are_compressed_for_clients_that_accept_it(open_server: str, encoding: str) -> None:
    plain = httpx.post(f"{open_server}/graphql", json={"query": VILLAGES}, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and len(plain.content) > 10_000
    with httpx.Client() as client:  # raw bytes: httpx would decode gzip itself
        request = client.build_request("POST", f"{open_server}/graphql", json={"query": VILLAGES},
                                       headers={"accept-encoding": f"{encoding}, identity;q=0.5"})
        squeezed = client.send(request, stream=True)
        raw = b"".join(squeezed.iter_raw())
    assert squeezed.headers["content-encoding"] == encoding and "accept-encoding" in squeezed.headers["vary"].lower()
    unpacked = bytes(cramjam.brotli.decompress(raw) if encoding == "br" else cramjam.gzip.decompress(raw))
    assert json.loads(unpacked) == plain.json()
    assert len(raw) < len(plain.content) / 3  # GeoJSON compresses well: what a phone waits for


def test_small_answers_are_sent_as_they_are(open_server: str) -> None:
    response = gql(open_server, {"query": "{ me { role } }"}, {"accept-encoding": "br, gzip"})
    assert "content-encoding" not in response.headers and response.json()["data"]["me"]["role"] == "planner"


def test_map_pages_are_compressed(open_server: str) -> None:
    link = gql(open_server, {"query": "{ indonesiaMapUrl }"}).json()["data"]["indonesiaMapUrl"]
    page = httpx.get(link, headers={"accept-encoding": "gzip"}, timeout=60)
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip" and "<html" in page.text.lower()


# --- CORS ------------------------------------------------------------------------------------


def test_a_configured_origin_passes_the_preflight_and_reads_the_answer(open_server: str) -> None:
    preflight = httpx.options(f"{open_server}/graphql", headers={
        "origin": DASHBOARD, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == DASHBOARD
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    answer = gql(open_server, {"query": PROVINCES}, {"origin": DASHBOARD})
    assert answer.headers["access-control-allow-origin"] == DASHBOARD
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()


def test_another_origin_is_not_allowed(open_server: str) -> None:
    preflight = httpx.options(f"{open_server}/graphql", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    answer = gql(open_server, {"query": PROVINCES}, {"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers  # the browser withholds the answer


# --- automatic persisted queries ---------------------------------------------------------------


def test_apq_a_hash_is_not_found_then_registered_with_its_text_then_found(open_server: str) -> None:
    query = "query Apq { provinces { edges { node { code } } } }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}
    miss = gql(open_server, {"extensions": ext}).json()
    assert error_codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"] and miss["errors"][0]["message"] == "PersistedQueryNotFound"
    assert gql(open_server, {"query": query, "extensions": ext}).json()["data"]["provinces"]["edges"]
    hit = gql(open_server, {"extensions": ext}).json()
    assert "errors" not in hit and hit["data"]["provinces"]["edges"]
    # The short form works over GET too (what makes it cacheable).
    got = httpx.get(f"{open_server}/graphql", params={"extensions": json.dumps(ext)})
    assert got.json() == hit


@pytest.mark.parametrize("extension", [
    {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}},  # not the text's hash
    {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
    {"persistedQuery": {"version": 1, "sha256Hash": "xyz"}},
    {"persistedQuery": "abc"},
])
def test_a_bad_persisted_query_extension_is_bad_user_input(open_server: str, extension: dict[str, Any]) -> None:
    body = gql(open_server, {"query": PROVINCES, "extensions": extension}).json()
    assert error_codes(body) == ["BAD_USER_INPUT"] and "extensions.persistedQuery" in body["errors"][0]["message"]


# --- cacheable GET -----------------------------------------------------------------------------


def test_a_public_aggregate_over_get_is_cacheable_and_revalidates(open_server: str) -> None:
    first = httpx.get(f"{open_server}/graphql", params={"query": PROVINCES})
    assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["vary"].lower().startswith("authorization")
    again = httpx.get(f"{open_server}/graphql", params={"query": PROVINCES},
                      headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    other = httpx.get(f"{open_server}/graphql", params={"query": "{ provinces { totalCount } }"},
                      headers={"if-none-match": first.headers["etag"]})
    assert other.status_code == 200 and other.json()["data"]["provinces"]["totalCount"]  # another answer: no 304


def test_a_signed_in_planners_get_may_be_kept_by_the_browser_only(open_server: str) -> None:
    response = httpx.get(f"{open_server}/graphql", params={"query": PROVINCES},
                         headers={"authorization": f"Bearer {token('planner')}"})
    assert response.headers["cache-control"] == "private, max-age=60"


@pytest.mark.parametrize("how", ["admin get", "manager get", "post", "error"])
def test_personal_data_writes_and_errors_are_never_cached(open_server: str, how: str) -> None:
    if how == "post":
        response = gql(open_server, {"query": PROVINCES})
    elif how == "error":
        response = httpx.get(f"{open_server}/graphql", params={"query": '{ village(code: "x") { code } }'})
    else:
        caller = token("admin") if how == "admin get" else token("manager", "99.01")
        response = httpx.get(f"{open_server}/graphql", params={"query": "{ agents(first: 5) { edges { node { name phone } } } }"},
                             headers={"authorization": f"Bearer {caller}"})
    assert response.headers["cache-control"] == "no-store" and "etag" not in response.headers


def test_a_mutation_over_get_is_refused(open_server: str) -> None:
    response = httpx.get(f"{open_server}/graphql", params={"query": 'mutation { deactivateAgent(code: "AG-0001") { code } }'},
                         headers={"authorization": f"Bearer {token('admin')}"})
    assert response.status_code in (400, 405) and "errors" in response.json()


# --- registered documents only ------------------------------------------------------------------

REGISTERED = "query Provinces { provinces { edges { node { code name } } } }"


@pytest.fixture(scope="module")
def locked_server(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("locked")
    manifest = folder / "persisted-queries.json"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": sha(REGISTERED), "name": "Provinces", "type": "query", "body": REGISTERED}]}))
    with running_server(shared_demo_db, folder, PERISAI_PERSISTED_QUERIES=str(manifest),
                        PERISAI_PERSISTED_QUERIES_ONLY="true") as base:
        yield base


def test_only_registered_documents_are_answered(locked_server: str) -> None:
    auth = {"authorization": f"Bearer {token('admin')}"}
    by_hash = gql(locked_server, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(REGISTERED)}}}, auth)
    assert "errors" not in by_hash.json() and by_hash.json()["data"]["provinces"]["edges"]
    assert gql(locked_server, {"query": REGISTERED}, auth).json() == by_hash.json()
    other = "{ provinces { totalCount } }"
    assert error_codes(gql(locked_server, {"query": other}, auth).json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    learn = {"query": other, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(other)}}}
    assert error_codes(gql(locked_server, learn, auth).json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]  # APQ cannot add one
    unknown = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(other)}}}
    assert error_codes(gql(locked_server, unknown, auth).json()) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_subscriptions_over_websocket_have_no_side_door(locked_server: str) -> None:
    from tests.test_api_subscriptions import ENROLLMENTS, next_payload, subscription

    with subscription(locked_server, ENROLLMENTS, token("admin")) as ws:
        message = next_payload(ws, timeout=10)
    assert message is not None, "the unregistered subscription was neither refused nor answered"
    errors = message.get("errors") or message.get("payload") or []
    assert [e["extensions"]["code"] for e in errors] == ["PERSISTED_QUERY_NOT_ALLOWED"], message


def test_an_expensive_document_is_refused_before_parsing(locked_server: str) -> None:
    """2³⁰ fragment spreads: an open server measures and refuses it (QUERY_TOO_COMPLEX); a locked
    one refuses it as unregistered, from a hash of its text, before the parser sees it."""
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    document = "{ ...F0 }" + fragments + "fragment F30 on Query { me { role } }"
    body = gql(locked_server, {"query": document}, {"authorization": f"Bearer {token('admin')}"}).json()
    assert error_codes(body) == ["PERSISTED_QUERY_NOT_ALLOWED"]


def test_a_bad_manifest_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "pq.json"
    bad.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": "0" * 64, "name": "Broken", "body": "{ me { role } }"}]}))
    with pytest.raises(ValueError, match="Broken: its id is not the SHA-256"):
        load_registered(bad)
    bad.write_text(json.dumps({sha("x"): "query {"}))
    with pytest.raises(ValueError, match="not a GraphQL document"):
        load_registered(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="Apollo persisted-query manifest"):
        load_registered(bad)
    bad.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": ["{ me { role } }"]}))
    with pytest.raises(ValueError, match="list of objects"):
        load_registered(bad)
