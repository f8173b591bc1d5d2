"""Documents built to exhaust the server: each is refused with a code, in time linear in its size,
before or instead of the work it asks for; bodies that are not GraphQL requests get GraphQL-shaped
4xx answers. (Speed figures under load are in `make bench`; the bounds here are generous safety
bounds that the exponential behaviour they guard against exceeded by far.)"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import error_codes, post, token

SAFETY_S = 5.0  # a fan-out of 30 levels walked spread by spread is 2³⁰ steps: hours, not seconds


def fan_out(levels: int, body: str = "...{next} ...{next}", leaf: str = "__typename", on: str = "Query") -> str:
    """`query { ...a0 } fragment a0 on Query { ...a1 ...a1 } … fragment aN on Query { __typename }`,
    with fresh fragment names each time (so no cache can answer it)."""
    tag = "f" + uuid.uuid4().hex[:8]
    fragments = [f"fragment {tag}{i} on {on} {{ {body.format(next=f'{tag}{i + 1}')} }}" for i in range(levels)]
    fragments.append(f"fragment {tag}{levels} on {on} {{ {leaf} }}")
    return f"query {{ ...{tag}0 }} " + " ".join(fragments)


FAN_OUTS = {
    "doubling spreads": lambda: fan_out(30),
    "doubling spreads with aliases": lambda: fan_out(30, leaf="a: __typename b: __typename"),
    "doubling spreads around a field": lambda: fan_out(30, body="...{next} me {{ role }} ...{next}"),
    "tripling spreads": lambda: fan_out(20, body="...{next} ...{next} ...{next}"),
    "doubling inside inline fragments": lambda: fan_out(30, body="... on Query {{ ...{next} }} ...{next}"),
}


def timed(server: str, query: str, auth: str | None) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    body = post(server, query, auth=auth)
    return time.monotonic() - started, body


@pytest.mark.parametrize("shape", FAN_OUTS)
def test_a_fan_out_document_is_refused_quickly_signed_in_or_not(server: str, shape: str) -> None:
    elapsed, body = timed(server, FAN_OUTS[shape](), "admin")
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"] and elapsed < SAFETY_S, (elapsed, body)
    elapsed, body = timed(server, FAN_OUTS[shape](), None)
    assert error_codes(body) == ["UNAUTHENTICATED"] and elapsed < SAFETY_S, (elapsed, body)


def test_normal_queries_are_answered_while_fan_outs_arrive(server: str) -> None:
    normal = "{ provinces { totalCount edges { node { code name } } } }"
    deadline = time.monotonic() + 4

    def attack() -> list[float]:
        seen = []
        while time.monotonic() < deadline:
            for make in FAN_OUTS.values():
                elapsed, body = timed(server, make(), "admin")
                assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
                seen.append(elapsed)
        return seen

    def serve() -> list[float]:
        seen = []
        while time.monotonic() < deadline:
            elapsed, body = timed(server, normal, "admin")
            assert "errors" not in body
            seen.append(elapsed)
        return seen

    with ThreadPoolExecutor(3) as pool:
        attacks = [pool.submit(attack), pool.submit(attack)]
        answered = pool.submit(serve).result()
        refused = [t for a in attacks for t in a.result()]
    assert answered and max(answered) < SAFETY_S, answered
    assert refused and max(refused) < SAFETY_S


@pytest.mark.parametrize("query, says", [
    ("{ " + "provinces { totalCount } " * 100 + "}", "merged"),  # 1.4 s of graphql-core's merge check at 600
    ("{ " + "__typename " * 2000 + "}", "merged"),
    ("{ " + "... on Query { " * 70 + "__typename" + " }" * 70 + " }", "levels deep"),
    ("query { " + " ".join(f"...g{i}" for i in range(150)) + " } "
     + " ".join(f"fragment g{i} on Query {{ provinces {{ totalCount }} }}" for i in range(150)), "merged"),
    ("{ provinces { totalCount } }" + " " * 100_001, "bytes"),
    ("{ provinces { totalCount } }" + "\n#" + "x" * 150_000, "bytes"),  # comments are not tokens
])
def test_documents_costly_to_validate_are_refused_before_validation(server: str, query: str, says: str) -> None:
    elapsed, body = timed(server, query, "admin")
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"] and says in body["errors"][0]["message"], body
    assert elapsed < SAFETY_S


def test_a_relay_style_document_with_many_fragments_passes(server: str) -> None:
    fragments = " ".join(f"fragment V{i} on Village {{ __typename id code name }}" for i in range(13))
    query = ("query { villages(first: 3) { edges { node { __typename id " + " ".join(f"...V{i}" for i in range(13))
             + " } } } } " + fragments)
    body = post(server, query)
    assert "errors" not in body and len(body["data"]["villages"]["edges"]) == 3


@pytest.mark.parametrize("content, status, code", [
    (b"null", 400, "BAD_REQUEST"),
    (b"5", 400, "BAD_REQUEST"),
    (b'"x"', 400, "BAD_REQUEST"),
    (b"{not json", 400, "BAD_REQUEST"),
    (b"[]", 400, "BAD_REQUEST"),
    (b'{"query": 5}', 400, "BAD_REQUEST"),
    (b'{"query": "{ __typename }", "variables": [1]}', 400, "BAD_REQUEST"),
    (b'{"query": "{ __typename }", "pad": "' + b"x" * 4_100_000 + b'"}', 413, "PAYLOAD_TOO_LARGE"),
])
def test_bodies_that_are_not_requests_get_a_graphql_shaped_4xx_and_keep_the_connection(
        server: str, content: bytes, status: int, code: str) -> None:
    headers = {"authorization": f"Bearer {token()}", "content-type": "application/json"}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
        response = client.post("/graphql", content=content)
        assert response.status_code == status, response.text
        assert error_codes(response.json()) == [code] and response.json()["errors"][0]["message"]
        again = client.post("/graphql", json={"query": "{ __typename }"})  # the same keep-alive connection
        assert again.json() == {"data": {"__typename": "Query"}}


def test_checks_of_a_document_are_memoised_by_the_parsed_object_and_bounded() -> None:
    from graphql import parse

    from schema.limits import PARSED_DOCUMENTS, per_document

    calls: list[int] = []

    @per_document
    def measured(document: Any, scale: int) -> int:
        calls.append(scale)
        return len(document.definitions) * scale

    first, same_text = parse("{ provinces { totalCount } }"), parse("{ provinces { totalCount } }")
    assert measured(first, 2) == measured(first, 2) == 2 and calls == [2]
    assert measured(first, 3) == 3 and calls == [2, 3]  # other arguments: another entry
    assert measured(same_text, 2) == 2 and calls == [2, 3, 2]  # another object: measured again
    kept = [parse("{ __typename }") for _ in range(PARSED_DOCUMENTS)]
    for document in kept:
        measured(document, 1)
    calls.clear()
    measured(first, 2)  # evicted by the PARSED_DOCUMENTS more recent ones
    measured(kept[-1], 1)  # still kept
    assert calls == [2]
