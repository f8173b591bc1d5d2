"""When the database goes away: reads, writes and maps answer a retryable UNAVAILABLE (HTTP 503 with
Retry-After) instead of uncoded errors, and the server serves again as soon as it is back.

The outage is real at the network level: the server reaches PostgreSQL through a TCP relay that
the test can shut (open connections are cut, new ones refused), as a restart or failover does.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, error_codes, fetch, free_port, running_server, token
from tests.replication import wait_for
from tests.test_alerts import _only_reached_by, _sole_agents
from tests.test_api_subscriptions import ENROLLMENTS, next_payload, subscription

READ = '{ provinces { totalCount } villages(first: 3) { edges { node { code name coverage { covered } } } } }'
WRITE = 'mutation { setAgentStatus(code: "AG-000001", status: INACTIVE) { status } }'


class Relay:
    """A TCP relay to PostgreSQL on a fixed local port, which can be shut and opened again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.links: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.frozen = threading.Event()
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def freeze(self) -> None:
        """Go silent like a host that died without closing anything: connections stay open, and
        nothing passes either way (new ones are accepted and hang)."""
        self.frozen.set()

    def thaw(self) -> None:
        self.frozen.clear()

    def shut(self) -> None:
        """Refuse new connections and cut the open ones."""
        assert self.listener is not None
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the socket
        # listening until that accept returned, and the next connection would get through.
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.listener = None
        with self.lock:
            for link in self.links:
                try:
                    link.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                link.close()
            self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # shut
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if not self.frozen.is_set():  # frozen: swallowed, as by a dead host
                    sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def behind_relay(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Relay, str]]:
    for url in _clone(cluster, templates["demo"]):
        relay = Relay(int(str(cluster.info()["port"])))
        relayed = url.replace(f":{cluster.info()['port']}/", f":{relay.port}/")
        with running_server(relayed, tmp_path) as server:
            yield server, relay, url
        if relay.listener is not None:
            relay.shut()


def ask(server: str, query: str) -> httpx.Response:
    return httpx.post(f"{server}/graphql", json={"query": query}, headers={"authorization": f"Bearer {token()}"},
                      timeout=60)


def test_an_outage_is_a_retryable_503_for_reads_writes_and_maps_and_service_resumes(
        behind_relay: tuple[str, Relay, str]) -> None:
    server, relay, _ = behind_relay
    assert "errors" not in ask(server, READ).json()
    relay.shut()
    for query in (READ, WRITE, READ):
        response = ask(server, query)
        body = response.json()
        assert response.status_code == 503 and response.headers["retry-after"].isdigit(), (response.status_code, body)
        assert set(error_codes(body)) == {"UNAVAILABLE"} and len(body["errors"]) == 1, body
        assert "retry" in body["errors"][0]["message"]
    page = httpx.get(f"{server}/maps/districts/99.01.01", headers={"authorization": f"Bearer {token()}"}, timeout=60)
    assert page.status_code == 503 and page.headers["retry-after"].isdigit() and "<h1>" in page.text
    assert httpx.get(f"{server}/healthz", timeout=60).status_code == 503
    relay.open()
    assert "errors" not in ask(server, READ).json()  # no restart needed
    assert data(server, WRITE)["setAgentStatus"]["status"] == "INACTIVE"


def test_a_failing_read_is_one_error_not_one_per_row(behind_relay: tuple[str, Relay, str]) -> None:
    server, _, url = behind_relay
    fetch(url, "ALTER TABLE district RENAME TO district_moved")  # every row's district fails the same way
    body = ask(server, "{ villages(first: 100) { edges { node { code district { name } } } } }").json()
    assert error_codes(body) == ["INTERNAL_SERVER_ERROR"], [e.get("path") for e in body["errors"]]


def test_a_primary_that_goes_silent_answers_unavailable_instead_of_hanging(
        cluster: EmbeddedCluster, templates: dict[str, str], tmp_path: Path) -> None:
    """No RST, no FIN: the requests in flight and the next ones get UNAVAILABLE once the statement
    timeout and a margin have passed (asyncpg's command timeout), not when TCP gives up minutes
    later; the server serves again when the host answers, without a restart."""
    for url in _clone(cluster, templates["demo"]):
        relay = Relay(int(str(cluster.info()["port"])))
        relayed = url.replace(f":{cluster.info()['port']}/", f":{relay.port}/")
        with running_server(relayed, tmp_path, PERISAI_STATEMENT_TIMEOUT_MS="1000") as server:
            assert "errors" not in ask(server, READ).json()
            relay.freeze()
            for query in (WRITE, READ):
                response = ask(server, query)  # ask() gives up after 60 s: a hang fails the test
                assert response.status_code == 503, response.text
                assert set(error_codes(response.json())) == {"UNAVAILABLE"}, response.text
            relay.thaw()
            _until_answered(server)
            assert data(server, WRITE)["setAgentStatus"]["status"] == "INACTIVE"
        relay.shut()


def _until_answered(server: str) -> None:
    """Connections that timed out are dropped from the pools; new ones answer."""
    for _ in range(20):
        if "errors" not in ask(server, READ).json():
            return
    raise AssertionError("the server did not serve again after the host answered")


COVERAGE = "subscription($r: String) { coverageChanged(regionCode: $r) { coveredVillages } }"
ALERTS = "subscription { coverageAlerts(digestSeconds: 0) { districtCode } }"


def _notify(url: str, event: dict[str, object]) -> None:
    fetch(url, "SELECT pg_notify('perisai_events', $1)", json.dumps(event))


def test_subscriptions_drop_an_event_they_cannot_read_during_an_outage_and_go_on(
        cluster: EmbeddedCluster, templates: dict[str, str], tmp_path: Path) -> None:
    """An event heard (LISTEN stays on the primary's own address) while the reads' path is cut:
    each subscription drops it instead of ending, and delivers the next one once reads work."""
    for url in _clone(cluster, templates["demo"]):
        relay = Relay(int(str(cluster.info()["port"])))
        relayed = url.replace(f":{cluster.info()['port']}/", f":{relay.port}/")
        sole = _sole_agents(url, "99.01")[0]["code"]
        districts = {village[:8] for village in _only_reached_by(url, sole)}
        district = min(districts)
        enrollment = fetch(url, """SELECT e.id, e.village_code, a.code AS agent FROM enrollment e
            JOIN agent a ON a.id = e.agent_id ORDER BY e.id LIMIT 1""")[0]
        heard = {"kind": "enrollment", "id": enrollment["id"], "village": enrollment["village_code"]}
        with running_server(relayed, tmp_path, PERISAI_LISTEN_URL=url) as server, \
                subscription(server, ENROLLMENTS, token("admin"), r=None) as enrollments, \
                subscription(server, COVERAGE, token("planner"), r=district) as coverage, \
                subscription(server, ALERTS, token("planner")) as alerts:
            first = next_payload(coverage)
            assert first is not None and "data" in first, first
            time.sleep(1.0)  # the other two are listening
            relay.shut()
            for event in (heard, {"kind": "coverage", "op": "UPDATE"}, {"kind": "alert", "id": 0, "region": district}):
                _notify(url, event)
            log = next(tmp_path.glob("server-*.log"))
            wait_for(lambda: log.read_text().count("an event was dropped") >= 3, "each subscription to drop its event")
            relay.open()
            fetch(url, "UPDATE agent SET status = 'inactive' WHERE code = $1", sole)  # coverage and alert events
            _notify(url, heard)
            moved, raised, recorded = next_payload(coverage), next_payload(alerts), next_payload(enrollments)
        relay.shut()
    assert moved is not None and "data" in moved, moved
    assert moved["data"]["coverageChanged"]["coveredVillages"] < first["data"]["coverageChanged"]["coveredVillages"]
    assert raised is not None and "data" in raised, raised
    assert {alert["districtCode"] for alert in raised["data"]["coverageAlerts"]} <= districts
    assert recorded == {"data": {"enrollmentRecorded": {"village": {"code": enrollment["village_code"]},
                                                        "agent": {"code": enrollment["agent"]}}}}
