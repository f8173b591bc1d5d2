"""Reads on streaming replicas (db/replicas.py), with the real thing: a primary and two hot standbys
made by `pg_basebackup -R`, streaming on this machine, and a server given both as
`PERISAI_REPLICA_URLS`.

Where each read ran is counted by PostgreSQL itself on each node (pg_stat_statements), never
inferred from timing. Replay is paused with `pg_wal_replay_pause()` wherever a test needs a replica
to be behind, so no outcome depends on how fast replication happens to be.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from db.replicas import parse_lsn
from embedded.cluster import EmbeddedCluster
from tests.conftest import fetch, running_server, token
from tests.replication import DATABASE, primary_and_standbys, wait_for

MAX_LAG_S = 1.0
# Statements that are not reads the API sent: the router's probes, these counts, the test's own.
_NOT_READS = "pg_stat_statements|pg_is_in_recovery|pg_current_wal_lsn|pg_last_wal_replay|pg_wal_replay|probe_writes"


@dataclass
class Nodes:
    primary: EmbeddedCluster
    standbys: list[EmbeddedCluster]
    server: str

    @property
    def primary_url(self) -> str:
        return self.primary.url(DATABASE)

    def standby_url(self, i: int) -> str:
        return self.standbys[i].url(DATABASE)

    def urls(self) -> list[str]:
        return [self.primary_url] + [self.standby_url(i) for i in range(len(self.standbys))]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    with primary_and_standbys() as (primary, standbys):
        replicas = " ".join(s.url(DATABASE) for s in standbys)
        with running_server(primary.url(DATABASE), tmp_path_factory.mktemp("replicas"), PERISAI_REPLICA_URLS=replicas,
                            PERISAI_MAX_REPLICA_LAG_S=str(MAX_LAG_S)) as server:
            found = Nodes(primary, standbys, server)
            _wait(found, lambda replicas: all(r["serving"] for r in replicas), "both replicas to serve")
            yield found


def _replicas(nodes: Nodes) -> list[dict[str, Any]]:
    body = httpx.get(f"{nodes.server}/healthz", timeout=10).json()
    return list(body["replicas"])


def _wait(nodes: Nodes, ready: Callable[[list[dict[str, Any]]], bool], what: str, within_s: float = 30) -> None:
    """Poll /healthz until `ready` holds for its replicas."""
    wait_for(lambda: ready(_replicas(nodes)), what, within_s)


def _reset_counts(nodes: Nodes) -> None:
    for url in nodes.urls():
        fetch(url, "SELECT pg_stat_statements_reset()")


def _reads(nodes: Nodes) -> list[int]:
    """Statements the API ran on [primary, standby 1, standby 2] since the last reset."""
    return [int(fetch(url, f"SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_statements WHERE query !~ '{_NOT_READS}'")[0]["n"])
            for url in nodes.urls()]


def _post(nodes: Nodes, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return httpx.post(f"{nodes.server}/graphql", json={"query": query, "variables": variables or {}}, timeout=30,
                      headers={"authorization": f"Bearer {token('admin')}", **headers})


def _agent(nodes: Nodes) -> str:
    return str(fetch(nodes.primary_url, "SELECT code FROM agent ORDER BY code LIMIT 1")[0]["code"])


NAME = "query ($code: String!) { agent(code: $code) { name } }"
RENAME = "mutation ($code: String!, $name: String!) { updateAgent(code: $code, input: {name: $name}) { name } }"


def test_reads_are_spread_over_the_replicas_and_none_reach_the_primary(nodes: Nodes) -> None:
    code = _agent(nodes)
    _reset_counts(nodes)
    for _ in range(30):
        response = _post(nodes, NAME, {"code": code})
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    primary, first, second = _reads(nodes)
    assert primary == 0
    assert first >= 10 and second >= 10 and first + second >= 30


def test_a_client_reads_its_own_write_through_the_position_it_sends_back(nodes: Nodes) -> None:
    code, name = _agent(nodes), f"Renamed {uuid.uuid4().hex[:8]}"
    for i in range(2):
        fetch(nodes.standby_url(i), "SELECT pg_wal_replay_pause()")
    try:
        written = _post(nodes, RENAME, {"code": code, "name": name})
        assert written.status_code == 200 and "errors" not in written.json(), written.text
        position = written.headers["x-perisai-lsn"]
        # The replicas have not replayed the write: only the routing can make the next read see it.
        for i in range(2):
            assert fetch(nodes.standby_url(i), "SELECT name FROM agent WHERE code = $1", code)[0]["name"] != name
        read = _post(nodes, NAME, {"code": code}, **{"X-Perisai-LSN": position})
        assert read.json()["data"]["agent"]["name"] == name
    finally:
        for i in range(2):
            fetch(nodes.standby_url(i), "SELECT pg_wal_replay_resume()")
    wanted = parse_lsn(position)
    _wait(nodes, lambda replicas: all(r["serving"] and parse_lsn(r["replay_lsn"]) >= wanted for r in replicas),
          "both replicas to replay the write")
    _reset_counts(nodes)
    for _ in range(4):
        assert _post(nodes, NAME, {"code": code}, **{"X-Perisai-LSN": position}).json()["data"]["agent"]["name"] == name
    primary, first, second = _reads(nodes)
    assert primary == 0 and first + second >= 4  # once replayed, the replicas serve it


def test_a_lagging_replica_is_left_out_until_it_catches_up(nodes: Nodes) -> None:
    code = _agent(nodes)
    fetch(nodes.standby_url(0), "SELECT pg_wal_replay_pause()")
    try:
        fetch(nodes.primary_url, "INSERT INTO probe_writes VALUES (1)")
        _wait(nodes, lambda replicas: not replicas[0]["serving"] and replicas[1]["serving"],
              f"the paused replica to fall more than {MAX_LAG_S:g} s behind")
        _reset_counts(nodes)
        for _ in range(20):
            assert "errors" not in _post(nodes, NAME, {"code": code}).json()
        primary, paused, other = _reads(nodes)
        assert paused == 0 and other >= 20 and primary == 0
    finally:
        fetch(nodes.standby_url(0), "SELECT pg_wal_replay_resume()")
    _wait(nodes, lambda replicas: all(r["serving"] for r in replicas), "the replica to catch up")


def test_a_replica_stopped_under_load_fails_no_request(nodes: Nodes, capsys: pytest.CaptureFixture[str]) -> None:
    code = _agent(nodes)
    outcomes: Counter[str] = Counter()
    stop = threading.Event()

    def client(i: int) -> None:
        headers = {"authorization": f"Bearer {token('admin')}"}
        with httpx.Client(base_url=nodes.server, timeout=30, headers=headers) as http:
            while not stop.is_set():
                # Compiled GraphQL reads, and the session-based ones: tiles and the OGC API.
                response = (http.post("/graphql", json={"query": NAME, "variables": {"code": code}}) if i < 2 else
                            http.get("/tiles/provinces/0/0/0.mvt") if i == 2 else
                            http.get("/ogc/collections/villages/items?limit=3"))
                json_body = "json" in response.headers.get("content-type", "")
                ok = response.status_code in (200, 204) and not (json_body and "errors" in response.json())
                outcomes[f"ok ({response.request.url.path.split('/')[1]})" if ok
                         else f"{response.status_code} {response.text[:200]}"] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: sum(outcomes.values()) >= 50, "reads under way")
        nodes.standbys[1].stop()
        before = sum(outcomes.values())
        wait_for(lambda: sum(outcomes.values()) >= before + 100, "reads after the replica stopped")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        nodes.standbys[1].ensure_running()
    with capsys.disabled():  # the counts belong in CI's output, pass or fail
        print(f"\nreplica stopped under load: {sum(outcomes.values())} reads sent, {dict(outcomes)}")
    assert set(outcomes) == {"ok (graphql)", "ok (tiles)", "ok (ogc)"}, outcomes
    _wait(nodes, lambda replicas: all(r["serving"] for r in replicas), "the restarted replica to serve")


@pytest.mark.parametrize("path", ["/graphql", "/tiles/villages/8/209/130.mvt", "/ogc/collections/villages/items",
                                  "/maps/indonesia"])
def test_a_malformed_position_is_refused_with_what_to_send(nodes: Nodes, path: str) -> None:
    headers = {"authorization": f"Bearer {token('admin')}", "X-Perisai-LSN": "yesterday"}
    if path == "/graphql":
        response = httpx.post(f"{nodes.server}{path}", json={"query": "{ provinces { totalCount } }"}, headers=headers)
    else:
        response = httpx.get(f"{nodes.server}{path}", headers=headers)
    assert response.status_code == 400, response.text
    assert "X-Perisai-LSN" in response.text and "yesterday" in response.text


def test_a_hostile_position_on_a_map_page_is_shown_escaped(nodes: Nodes) -> None:
    hostile = "<script>alert(1)</script>"
    response = httpx.get(f"{nodes.server}/maps/indonesia", headers={"authorization": f"Bearer {token('admin')}",
                                                                     "X-Perisai-LSN": hostile})
    assert response.status_code == 400
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
