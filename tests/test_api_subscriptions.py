"""Live updates over graphql-transport-ws, delivered through PostgreSQL LISTEN/NOTIFY.

Two server processes share one database: a subscription held on one receives what is written
through the other, which an in-process event bus could never do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, fetch, post, running_server, token
from tests.test_api_enrollment_writes import RECORD, an_agent, item


@pytest.fixture(scope="module")
def two_servers(cluster: EmbeddedCluster, templates: dict[str, str],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("a"))) as a, \
                running_server(url, Path(tmp_path_factory.mktemp("b"))) as b:
            yield url, a, b


@contextmanager
def subscription(server: str, query: str, auth: str, **variables: Any) -> Iterator[ClientConnection]:
    """A graphql-transport-ws connection to `server` with one running subscription."""
    with connect(server.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {auth}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
        yield ws


def next_payload(ws: ClientConnection, timeout: float = 10) -> dict[str, Any] | None:
    """The next `next` message's data, or None if nothing arrives in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            return None
        if message["type"] == "next":
            return dict(message["payload"])
        if message["type"] in ("error", "complete"):
            return dict(message)
    return None


ENROLLMENTS = 'subscription($r: String) { enrollmentRecorded(regionCode: $r) { village { code } agent { code } } }'


def test_an_enrollment_recorded_through_one_process_reaches_a_subscriber_of_the_other(two_servers: tuple[str, str, str]) -> None:
    url, a, b = two_servers
    agent = an_agent(url)
    region = agent["reached"][:5]
    other = "99.71" if region != "99.71" else "99.01"
    with subscription(a, ENROLLMENTS, token("manager", region), r=region) as mine, \
            subscription(a, ENROLLMENTS, token("manager", other), r=None) as elsewhere:
        time.sleep(1.0)  # both subscriptions are listening
        recorded = post(b, RECORD, {"input": item(50_000, agent["reached"])}, auth=token("agent", agent=agent["code"]))
        assert recorded["data"]["recordEnrollment"]["status"] == "CREATED"
        got = next_payload(mine)
        assert got == {"data": {"enrollmentRecorded": {"village": {"code": agent["reached"]},
                                                       "agent": {"code": agent["code"]}}}}
        assert next_payload(elsewhere, timeout=2) is None  # a manager of another region hears nothing


def test_coverage_changed_follows_an_agent_moved_by_anyone(two_servers: tuple[str, str, str]) -> None:
    url, a, _ = two_servers
    district = fetch(url, """SELECT left(r.village_code, 8) AS d, a.id FROM agent_reach r JOIN agent a ON a.id = r.agent_id
        WHERE a.status = 'active' GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1""")[0]
    query = "subscription($r: String) { coverageChanged(regionCode: $r) { coveredVillages activeAgents } }"
    with subscription(a, query, token("planner"), r=district["d"]) as ws:
        first = next_payload(ws)
        assert first is not None and "data" in first, first
        before = first["data"]["coverageChanged"]
        assert before == data(a, f'{{ coverage(regionCode: "{district["d"]}") {{ coveredVillages activeAgents }} }}',
                              auth="planner")["coverage"]
        fetch(url, "UPDATE agent SET status = 'inactive' WHERE id IN (SELECT agent_id FROM agent_reach "
                   "WHERE village_code LIKE $1 || '.%')", district["d"])  # plain SQL: the trigger notifies
        after = next_payload(ws)
        assert after is not None and after["data"]["coverageChanged"]["coveredVillages"] < before["coveredVillages"]


def test_a_subscription_needs_a_valid_token_and_a_role_that_may_see_it(two_servers: tuple[str, str, str]) -> None:
    _, a, _ = two_servers
    with connect(a.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    query = 'subscription { coverageChanged(regionCode: "99.01") { villages } }'
    with subscription(a, query, token("agent", agent="AG-000001")) as ws:
        refused = next_payload(ws)
        assert refused is not None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused


def test_a_planner_hears_no_enrollment_in_a_village_whose_count_is_suppressed(two_servers: tuple[str, str, str]) -> None:
    """Each event would count one enrollment: a planner is not sent those of a village whose count
    is hidden (small counts). Recorded first, such an event would arrive before the next one."""
    from tests.test_small_count_upkeep import set_counts_sql

    url, a, b = two_servers
    pair = fetch(url, """SELECT a.code, array_agg(r.village_code ORDER BY r.village_code) AS villages FROM agent a
        JOIN agent_reach r ON r.agent_id = a.id WHERE a.status = 'active' GROUP BY a.code HAVING count(*) >= 3
        ORDER BY a.code LIMIT 1""")[0]
    hidden = pair["villages"][0]
    fetch(url, set_counts_sql([hidden], 1))
    shown = fetch(url, """SELECT ve.village_code AS code FROM village_enrollments ve WHERE ve.village_code = ANY($1)
        AND ve.active >= 5 AND NOT EXISTS (SELECT FROM hidden_enrollment_cell h WHERE h.code = ve.village_code)
        ORDER BY 1 LIMIT 1""", pair["villages"])[0]["code"]
    assert fetch(url, "SELECT count(*) AS n FROM hidden_enrollment_cell WHERE code = $1", hidden)[0]["n"] == 1
    auth = token("agent", agent=pair["code"])
    with subscription(a, ENROLLMENTS, token("planner"), r=None) as planner:
        time.sleep(1.0)  # listening
        for n, village in enumerate((hidden, shown)):
            recorded = post(b, RECORD, {"input": item(60_000 + n, village)}, auth=auth)
            assert recorded["data"]["recordEnrollment"]["status"] == "CREATED"
        assert next_payload(planner) == {"data": {"enrollmentRecorded": {"village": {"code": shown},
                                                                         "agent": {"code": pair["code"]}}}}


def test_a_document_of_several_subscriptions_needs_an_operation_name(two_servers: tuple[str, str, str]) -> None:
    _, a, _ = two_servers
    query = ('subscription Villages { coverageChanged(regionCode: "99.01") { villages } } '
             + 'subscription Enrollments { enrollmentRecorded { village { code } } }')
    with subscription(a, query, token("admin")) as ws:
        refused = next_payload(ws)
    assert refused is not None, "no answer"
    errors = refused.get("errors") or refused.get("payload")
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [("BAD_USER_INPUT", "operationName")], refused
