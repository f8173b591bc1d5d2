"""Generated GraphQL requests (schemathesis + hypothesis-graphql, from schema.graphql): random
selections, arguments and values, including hostile text, for every query and mutation field.
Pass condition: no INTERNAL_SERVER_ERROR and no 5xx. The seed is fixed (derandomised), so a run is
repeatable and a failure can be replayed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from strawberry.relay import to_base64

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, running_server, token

ROOT = Path(__file__).resolve().parents[1]

# Values that reach the database (real demo codes and ids) mixed with hostile ones: NUL, other
# scripts' digits, markup and template-literal breakouts, huge numbers, and arbitrary text.
HOSTILE = ["a\x00b", "\x00", "٩٩.٠١", "９９.０１", "${x}", "`", "</script><img src=x onerror=1>", "' OR 1=1 --",
           "x" * 5000, "\u202e", "99.01.01.2001\x00", "AG-000001\x00", "%", "_", "\\", ""]
CODES = ["99", "99.01", "99.01.01", "99.01.01.2001", "99.01.02", "34", "34.71", "99.99.99.9999", "AG-000001", "AG-000007"]
IDS = [to_base64(kind, key) for kind, key in [("Village", "99.01.01.2001"), ("District", "99.01.01"), ("Agent", "1"),
                                              ("Enrollment", "1"), ("Participant", "1"), ("Node", "1")]]
GEOMETRIES = [
    {"type": "Point", "coordinates": [128.1, -6.6]},
    {"type": "Polygon", "coordinates": [[[128.0, -7.0], [128.5, -7.0], [128.5, -6.5], [128.0, -6.5], [128.0, -7.0]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1]]]},
    {"type": "Point", "coordinates": [1e308, "x"]}, {"type": "Nope"}, {},
]


def _literal(value: Any) -> graphql.ValueNode:
    if isinstance(value, dict):
        return nodes.Object([graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_literal(v))
                             for k, v in value.items()])
    if isinstance(value, list):
        return nodes.List([_literal(v) for v in value])
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    return nodes.String(value)


schemathesis.graphql.scalar("String", st.one_of(st.sampled_from(CODES + HOSTILE), st.text(max_size=30)).map(nodes.String))
schemathesis.graphql.scalar("ID", st.one_of(st.sampled_from(IDS + HOSTILE), st.text(max_size=20)).map(nodes.String))
schemathesis.graphql.scalar("GeoJSON", st.sampled_from(GEOMETRIES).map(_literal))
DATES = st.dates(dt.date(2010, 1, 1), dt.date(2035, 12, 31)).map(str)
schemathesis.graphql.scalar("Date", st.one_of(DATES, DATES, DATES, DATES, st.sampled_from(["2024-02-30", "x"])).map(nodes.String))
schemathesis.graphql.scalar("UUID", st.one_of(st.uuids().map(str), st.sampled_from(["x", "\x00"])).map(nodes.String))
SCHEMA = schemathesis.graphql.from_path(ROOT / "schema.graphql")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = 700  # per role; about 40 s each here


@pytest.fixture
def target(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Mutations run too: every role fuzzes a fresh copy, so no run depends on what another wrote.
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("fuzz"))) as server:
            yield server


@pytest.mark.parametrize("auth", [token("admin"), token("manager", "99.01"), token("agent", agent="AG-000001")],
                         ids=["admin", "manager", "agent"])
def test_generated_requests_get_no_internal_error_and_no_5xx(target: str, auth: str) -> None:
    session = requests.Session()
    headers = {"authorization": f"Bearer {auth}"}
    seen: list[int] = []
    codes: Counter[str] = Counter()
    failures: list[str] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of([operation.as_strategy() for operation in OPERATIONS]))
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=f"{target}/graphql", session=session, headers=headers, timeout=60)
        seen.append(response.status_code)
        try:
            errors = response.json().get("errors") or [{"extensions": {"code": "none"}}]
        except ValueError:
            failures.append(f"not JSON: {response.status_code} {response.request.method} {response.request.url} {response.text[:200]!r}")
            return
        codes.update(str(e.get("extensions", {}).get("code")) for e in errors)
        if response.status_code >= 500 or "INTERNAL_SERVER_ERROR" in response.text:
            failures.append(f"{response.status_code} {response.text[:300]}\n{case.body}")

    send()
    print(f"{len(seen)} generated requests, {len(failures)} failures; answers: {dict(codes.most_common())}")
    assert not failures, "\n\n".join(failures[:5])
    # Honest only if the requests reached the API: nearly all were answered (200) and some with data,
    # not only with refusals (seen: 32 to 79 of 700 with data; the bound leaves room for the
    # answers that depend on today's date, such as enrolledOn in the future).
    assert len(seen) >= EXAMPLES // 2 and seen.count(200) >= len(seen) * 0.9 and codes["none"] >= 10
