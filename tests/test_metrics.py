"""/metrics, /livez and /readyz as Prometheus and a load balancer read them, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DatabaseJanitor, EmbeddedCluster, _janitor, fetch, post, running_server, token

METRICS_TOKEN = "scrape-token-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(all_samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def server(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("metrics"), PERISAI_METRICS_TOKEN=METRICS_TOKEN) as base:
        yield base


def scrape(server: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def test_operations_errors_statements_and_routes_are_counted(server: str) -> None:
    before = scrape(server)
    for _ in range(3):
        post(server, "query Provinces { provinces { totalCount } }")
    post(server, "{ me { role } }", auth="not-a-token")  # refused before parsing
    post(server, '{ village(code: "99") { code } }')  # BAD_USER_INPUT from the compiler
    link = post(server, "{ indonesiaMapUrl }")["data"]["indonesiaMapUrl"]
    assert httpx.get(link, timeout=60).status_code == 200
    after = scrape(server)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("perisai_graphql_operation_seconds_count", operation="Provinces", type="query") == 3
    assert grew("perisai_graphql_operations_total", operation="Provinces", type="query", outcome="ok") == 3
    assert grew("perisai_graphql_operations_total", operation="anonymous", type="unknown", outcome="UNAUTHENTICATED") == 1
    assert grew("perisai_graphql_errors_total", code="UNAUTHENTICATED") == 1
    assert grew("perisai_graphql_errors_total", code="BAD_USER_INPUT") == 1
    assert grew("perisai_db_statement_seconds_count") >= 4  # the compiled reads: one statement each
    assert grew("perisai_http_requests_total", route="/graphql", status="200") == 6
    assert grew("perisai_http_requests_total", route="/maps/indonesia", status="200") == 1
    pool = value(after, "perisai_db_pool_connections", state="idle") + value(after, "perisai_db_pool_connections", state="busy")
    assert pool >= 1  # the read pool's connections, as of the scrape


def test_operation_names_cannot_grow_the_label_set_without_bound(server: str) -> None:
    for i in range(230):
        post(server, f"query Probe{i} {{ me {{ role }} }}")
    hostile = httpx.post(f"{server}/graphql", json={"query": "{ me { role } }", "operationName": 'x"} 1\nevil 2'},
                         headers={"authorization": f"Bearer {token('admin')}"}).json()
    assert hostile["errors"]
    names = {dict(labels).get("operation") for (name, labels) in scrape(server)
             if name == "perisai_graphql_operations_total"}
    assert len(names) <= 200 + 2 and "other" in names  # at most MAX_OPERATION_NAMES, then "other" (and "anonymous")
    assert not any(n and "\n" in n for n in names)


def test_metrics_ask_for_their_token_when_one_is_set(server: str) -> None:
    assert httpx.get(f"{server}/metrics").status_code == 401
    assert httpx.get(f"{server}/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401


def test_liveness_stays_up_while_readiness_follows_the_database(
        cluster: EmbeddedCluster, templates: dict[str, str], tmp_path: Path) -> None:
    janitor: DatabaseJanitor = _janitor(cluster, "t_readyz_probe", templates["demo"])
    janitor.init()
    url = cluster.url("t_readyz_probe")
    try:
        with running_server(url, tmp_path) as base:
            assert httpx.get(f"{base}/readyz").status_code == 200
            fetch(cluster.url("postgres"), "ALTER DATABASE t_readyz_probe ALLOW_CONNECTIONS false")
            fetch(cluster.url("postgres"), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE datname = 't_readyz_probe'")
            ready = httpx.get(f"{base}/readyz", timeout=10)
            assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
            assert httpx.get(f"{base}/livez").status_code == 200
            fetch(cluster.url("postgres"), "ALTER DATABASE t_readyz_probe ALLOW_CONNECTIONS true")
            assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200  # back without a restart
    finally:
        fetch(cluster.url("postgres"), "ALTER DATABASE t_readyz_probe ALLOW_CONNECTIONS true")
        janitor.drop()
