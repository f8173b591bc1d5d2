"""Behind PgBouncer in transaction pooling mode. Debian's 1.18: the server keeps no session state
across transactions and no prepared statement outside the transaction that made it, so concurrent
clients sharing two server connections all get their answers. 1.24 (scripts/build-pgbouncer) with
`max_prepared_statements`: the same load with the statement caches on, and statements are parsed
once per server connection, not once per request.

Without `PERISAI_TRANSACTION_POOLER` the same load fails (asyncpg's cached prepared statements are
looked up on server connections that never saw them: tried by hand, most requests of a 2 s run
failed). That is not a test here: whether a statement lands on another server connection depends
on PgBouncer's scheduling, so such a test would pass or fail by timing.
"""

from __future__ import annotations

import csv
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, fetch, running_server, token
from tests.replication import pgbouncer
from tests.test_api_enrollment_writes import RECORD, an_agent, item
from tests.test_api_subscriptions import ENROLLMENTS, next_payload, subscription

READS = [
    "{ provinces { totalCount } villages(first: 5) { edges { node { code name coverage { covered } } } } }",
    "query ($n: Int!) { villages(first: $n) { totalCount edges { node { __typename id code } } } }",
    "{ agents(first: 3) { edges { node { code status villagesInReach(first: 2) { totalCount } } } } }",
]


def _behind_pgbouncer(cluster: EmbeddedCluster, templates: dict[str, str], prepared_statements: int = 0
                      ) -> Iterator[tuple[str, str]]:
    """(direct URL, pooler URL) of a demo database behind its own PgBouncer."""
    for url in _clone(cluster, templates["demo"]):
        with pgbouncer(cluster, url.rsplit("/", 1)[1], prepared_statements=prepared_statements) as through:
            yield url, through


@pytest.fixture(scope="module")
def pooled(cluster: EmbeddedCluster, templates: dict[str, str]) -> Iterator[tuple[str, str]]:
    yield from _behind_pgbouncer(cluster, templates)


@pytest.fixture(scope="module")
def pooled_keeping_prepared(cluster: EmbeddedCluster, templates: dict[str, str]) -> Iterator[tuple[str, str]]:
    yield from _behind_pgbouncer(cluster, templates, prepared_statements=100)


def _load(server: str, agent: dict[str, object], seconds: float = 3.0) -> Counter[str]:
    """Eight clients for `seconds`: reads of several shapes, writes, a tile and an OGC page."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    numbers = iter(range(300_000, 400_000))

    def client(i: int) -> None:
        writer = i % 4 == 0
        auth = token("agent", agent=str(agent["code"])) if writer else token("admin")
        with httpx.Client(base_url=server, timeout=30, headers={"authorization": f"Bearer {auth}"}) as http:
            n = 0
            while time.monotonic() < stop:
                n += 1
                try:
                    outcome = _outcome(_request(http, i, n, writer, agent, numbers))
                except httpx.HTTPError as exc:
                    outcome = f"transport: {exc}"
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _request(http: httpx.Client, i: int, n: int, writer: bool, agent: dict[str, object], numbers: Iterator[int]) -> httpx.Response:
    if writer:
        return http.post("/graphql", json={"query": RECORD, "variables": {"input": item(next(numbers), str(agent["reached"]))}})
    if n % 5 == 0:
        return http.get("/tiles/villages/8/209/130.mvt" if i % 2 else "/ogc/collections/villages/items?limit=5")
    return http.post("/graphql", json={"query": READS[n % len(READS)], "variables": {"n": 1 + n % 7}})


def _outcome(response: httpx.Response) -> str:
    json_body = "json" in response.headers.get("content-type", "")
    if response.status_code in (200, 204) and not (json_body and "errors" in response.json()):
        return "ok"
    return f"{response.status_code} {response.text[:200]}"


def _load_while_subscribed(server: str, direct: str) -> Counter[str]:
    """`_load`'s outcomes, with a subscription open meanwhile that must hear one of its writes."""
    with subscription(server, ENROLLMENTS, token("admin"), r=None) as events:
        time.sleep(0.5)  # the subscription is listening (on the direct URL)
        outcomes = _load(server, an_agent(direct))
        assert next_payload(events) is not None, "no event through LISTEN on the direct URL"
    return outcomes


def test_every_kind_of_request_through_a_transaction_pooler(pooled: tuple[str, str], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    direct, through = pooled
    with running_server(through, tmp_path, PERISAI_TRANSACTION_POOLER="true", PERISAI_LISTEN_URL=direct,
                        PERISAI_STATEMENT_TIMEOUT_MS="5000") as server:
        outcomes = _load_while_subscribed(server, direct)
    with capsys.disabled():
        print(f"\nthrough PgBouncer (transaction mode, 2 server connections): {dict(outcomes)}")
    assert set(outcomes) == {"ok"}, outcomes
    assert outcomes["ok"] >= 50


def test_the_statement_timeout_holds_through_the_pooler(pooled: tuple[str, str]) -> None:
    _, through = pooled
    assert fetch(through, "SHOW statement_timeout")[0]["statement_timeout"] == "5s"


def _pooler_stats(through: str) -> dict[str, int]:
    """PgBouncer's SHOW STATS row for the database behind `through` (its admin console speaks only the
    simple query protocol, which psql uses)."""
    database = through.rsplit("/", 1)[1]
    admin = through.rsplit("/", 1)[0] + "/pgbouncer"
    shown = subprocess.run(["psql", admin, "--csv", "-c", "SHOW STATS"], capture_output=True, text=True, check=True).stdout
    row = next(row for row in csv.DictReader(shown.splitlines()) if row["database"] == database)
    return {name: int(row[name]) for name in ("total_server_parse_count", "total_client_parse_count", "total_bind_count")}


def test_statements_stay_prepared_through_a_pooler_that_keeps_them(
        pooled_keeping_prepared: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    direct, through = pooled_keeping_prepared
    with running_server(through, tmp_path, PERISAI_TRANSACTION_POOLER="true", PERISAI_POOLER_PREPARED_STATEMENTS="true",
                        PERISAI_LISTEN_URL=direct, PERISAI_STATEMENT_TIMEOUT_MS="5000") as server:
        outcomes = _load_while_subscribed(server, direct)
        # Every statement of this read has now been prepared on both server connections (the load
        # sent it); 100 more of it must not be parsed again by PostgreSQL.
        before = _pooler_stats(through)
        with httpx.Client(base_url=server, headers={"authorization": f"Bearer {token('admin')}"}) as http:
            for _ in range(100):
                assert _outcome(http.post("/graphql", json={"query": READS[0]})) == "ok"
        after = _pooler_stats(through)
    parsed, bound = (after[name] - before[name] for name in ("total_server_parse_count", "total_bind_count"))
    with capsys.disabled():
        print(f"\nthrough PgBouncer keeping prepared statements: {dict(outcomes)}; 100 reads after it: "
              f"{bound} statements bound, {parsed} parsed by PostgreSQL")
    assert set(outcomes) == {"ok"}, outcomes
    assert bound >= 100
    assert parsed <= 2, "statements were parsed again: the statement cache is off or PgBouncer does not keep them"
