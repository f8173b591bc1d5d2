"""Generated queries (hypothesis-graphql through schemathesis, fixed seed): random selections,
fragments, aliases and arguments, for every role. The compiled path must answer exactly as the
field-by-field resolvers do (data and error codes and paths), and never with an internal error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import running_server, token
from tests.test_compiled import ask
from tests.test_fuzz import SCHEMA  # registers the scalar strategies (real codes, hostile text)

QUERIES = [result.ok() for result in SCHEMA.get_all_operations() if result.ok().label.startswith("Query.")]
EXAMPLES = 150  # per role


@pytest.fixture(scope="module")
def servers(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("compiled")) as compiled, \
            running_server(shared_demo_db, tmp_path_factory.mktemp("plain"), PERISAI_COMPILE_READS="false") as plain:
        yield compiled, plain


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    """What must agree: the data, and each error's code and path (wording may differ)."""
    errors = sorted((str(e.get("extensions", {}).get("code")), str(e.get("path"))) for e in body.get("errors", []))
    return {"data": body.get("data"), "errors": errors}


@pytest.mark.parametrize("auth", [token("admin"), token("planner"), token("manager", "99.01"),
                                  token("agent", agent="AG-000001")], ids=["admin", "planner", "manager", "agent"])
def test_generated_queries_answer_as_the_resolvers_do(servers: tuple[str, str], auth: str) -> None:
    compiled, plain = servers
    differences: list[str] = []
    answered = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of([operation.as_strategy() for operation in QUERIES]))
    def send(case: schemathesis.Case) -> None:
        query = case.body if isinstance(case.body, str) else case.body["query"]
        ours, theirs = ask(compiled, query, {}, auth=auth), ask(plain, query, {}, auth=auth)
        assert "INTERNAL_SERVER_ERROR" not in str(ours), (query, ours)
        answered.append(ours.get("data") is not None)
        if _shape(ours) != _shape(theirs):
            differences.append(f"{query}\n  compiled: {str(_shape(ours))[:600]}\n  resolvers: {str(_shape(theirs))[:600]}")

    send()
    assert not differences, "\n\n".join(differences[:3])
    assert sum(answered) >= 10  # the comparison is not only of refusals
