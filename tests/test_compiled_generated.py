"""Generated queries (hypothesis-graphql through schemathesis, fixed seed): random selections,
fragments, aliases and arguments, for every role. Each request is answered by at most one SQL
statement on the data (counted by PostgreSQL, pg_stat_statements), never with an internal error;
sent again, it is answered the same by the short path of admitted queries (schema/admitted.py);
and where a generated query asks for a whole list's totalCount, it equals a count written here."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from graphql import FieldNode, NullValueNode, OperationDefinitionNode, parse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, fetch, running_server, token
from tests.test_admitted import admitted_count
from tests.test_api_statements import statements
from tests.test_fuzz import SCHEMA  # registers the scalar strategies (real codes, hostile text)

QUERIES = [result.ok() for result in SCHEMA.get_all_operations() if result.ok().label.startswith("Query.")]
EXAMPLES = 150  # per role
# An independent count of each list for the roles it is checked for (written here, not taken from
# db.access): admin sees everything, a manager of 99.01 what lies in 99.01.
COUNTS = {
    "villages": {"admin": "SELECT count(*) FROM village", "manager": "SELECT count(*) FROM village WHERE code LIKE '99.01.%'"},
    "provinces": {"admin": "SELECT count(*) FROM province", "manager": "SELECT 0"},
    "agents": {"admin": "SELECT count(*) FROM agent", "manager": "SELECT count(*) FROM agent WHERE home_village_code LIKE '99.01.%'"},
    "enrollments": {"admin": "SELECT count(*) FROM enrollment",
                    "manager": "SELECT count(*) FROM enrollment WHERE village_code LIKE '99.01.%'"},
}
# A map link carries a token signed at the second it is written: two answers a second apart differ
# only there.
MAP_TOKEN = re.compile(r"([?&]token=)[\w.-]+")
ROLES = {"admin": token("admin"), "planner": token("planner"), "manager": token("manager", "99.01"),
         "agent": token("agent", agent="AG-000001")}


@pytest.fixture(scope="module")
def counted(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        fetch(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        with running_server(url, Path(tmp_path_factory.mktemp("generated"))) as server:
            yield server, url


def without_map_tokens(body: dict[str, Any]) -> str:
    """The answer as JSON text with every map link's token replaced by one placeholder."""
    return MAP_TOKEN.sub(r"\1<token>", json.dumps(body, sort_keys=True))


def unfiltered(field: FieldNode) -> bool:
    """Arguments that leave a list whole: paging (totalCount counts every page) or a null filter."""
    return all(a.name.value in ("first", "after", "last", "before")
               or (a.name.value == "filter" and isinstance(a.value, NullValueNode)) for a in field.arguments)


def unfiltered_totals(query: str) -> list[tuple[str, str]]:
    """(response key, list) of root lists asked for their totalCount, unfiltered."""
    operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    found = []
    for root in operation.selection_set.selections:
        if isinstance(root, FieldNode) and root.name.value in COUNTS and unfiltered(root) and not root.directives \
                and root.selection_set and any(isinstance(s, FieldNode) and s.name.value == "totalCount" and not s.alias
                                               for s in root.selection_set.selections):
            found.append(((root.alias or root.name).value, root.name.value))
    return found


@pytest.mark.parametrize("role", list(ROLES))
def test_generated_queries_are_one_statement_and_never_internal_errors(counted: tuple[str, str], role: str) -> None:
    server, url = counted
    client = httpx.Client(base_url=server, headers={"authorization": f"Bearer {ROLES[role]}"}, timeout=60)
    most, answered, oracles, calls = 0, 0, 0, 0
    admitted_before = admitted_count(server)

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of([operation.as_strategy() for operation in QUERIES]))
    def send(case: schemathesis.Case) -> None:
        nonlocal most, answered, oracles, calls
        calls += 1
        query = case.body if isinstance(case.body, str) else case.body["query"]
        fetch(url, "SELECT pg_stat_statements_reset()")
        # The full path first (a persisted-query hash always takes it), then the same text plainly.
        hashed = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
        body: dict[str, Any] = client.post("/graphql", json={"query": query, "extensions": hashed}).json()
        sent = sum(calls for _, calls in statements(url))
        most = max(most, sent)
        assert "INTERNAL_SERVER_ERROR" not in str(body), (query, body)
        assert sent <= 1, (query, statements(url))
        answered += body.get("data") is not None
        fetch(url, "SELECT pg_stat_statements_reset()")
        again: dict[str, Any] = client.post("/graphql", json={"query": query}).json()
        assert without_map_tokens(again) == without_map_tokens(body), (query, body, again)
        assert sum(calls for _, calls in statements(url)) <= 1, (query, statements(url))
        for key, name in unfiltered_totals(query):
            value = ((body.get("data") or {}).get(key) or {}).get("totalCount")
            if value is not None and role in COUNTS[name]:
                assert value == fetch(url, COUNTS[name][role])[0][0], (query, body)
                oracles += 1

    send()
    short = admitted_count(server) - admitted_before
    print(f"{role}: at most {most} statement per request; {answered} answered with data, "
          f"{short:.0f} again by the short path; {oracles} totals checked")
    assert answered >= 10  # which generated queries ask for a whole list's total depends on the schema
    assert answered <= short <= calls  # every query the compiler answered, answered again by the short path


@pytest.mark.parametrize("role", ["admin", "manager"])
@pytest.mark.parametrize("name", list(COUNTS))
def test_every_list_total_equals_an_independent_count(counted: tuple[str, str], role: str, name: str) -> None:
    """The totals the generated test checks when it happens to ask for one, asked for every time."""
    server, url = counted
    body = httpx.post(f"{server}/graphql", json={"query": f"{{ {name}(first: 1) {{ totalCount }} }}"},
                      headers={"authorization": f"Bearer {ROLES[role]}"}, timeout=60).json()
    assert body["data"][name]["totalCount"] == fetch(url, COUNTS[name][role])[0][0], body

