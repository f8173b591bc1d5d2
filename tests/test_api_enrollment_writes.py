"""Recording enrollments through HTTP: idempotency, conflicts, permissions, validation, batches, retries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, error_codes, fetch, post, running_server, token

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def writable(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("writes"))) as server:
            yield url, server


def nik(i: int) -> str:
    """A plausible NIK no demo participant has (regency 99 is not a real regency code)."""
    return f"349901{(i % 28) + 1:02d}0190{i % 9999 + 1:04d}"


def an_agent(url: str) -> dict[str, Any]:
    row = fetch(url, """SELECT a.code, a.home_village_code AS home, min(r.village_code) AS reached FROM agent a
        JOIN agent_reach r ON r.agent_id = a.id WHERE a.status = 'active' GROUP BY a.code, a.home_village_code
        ORDER BY a.code LIMIT 1""")[0]
    far = fetch(url, """SELECT code FROM village v WHERE left(code, 8) <> left($1, 8) AND NOT EXISTS (
        SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id WHERE a.code = $2 AND r.village_code = v.code)
        ORDER BY code LIMIT 1""", row["home"], row["code"])[0]["code"]
    return {"code": row["code"], "home": row["home"], "reached": row["reached"], "far": far}


def item(i: int, village: str, **changes: Any) -> dict[str, Any]:
    base = {"clientId": str(uuid.UUID(int=i + 10**6)), "nik": nik(i), "name": f"Peserta {i}", "villageCode": village,
            "programmes": ["JKK", "JKM"], "monthlyContributionIdr": 16800, "enrolledOn": TODAY.isoformat(),
            "occupation": "petani", "gps": {"lng": 128.0, "lat": -6.5, "accuracyM": 12}}
    return {**base, **changes}


RECORD = """mutation($input: EnrollmentInput!) { recordEnrollment(input: $input) {
    clientId status enrollment { id status village { code } agent { code } participant { nikLast4 } } } }"""
SYNC = """mutation($items: [EnrollmentInput!]!) { syncEnrollments(items: $items) {
    created duplicates rejected results { clientId status code message field enrollment { id } } } }"""


def count(url: str, client_ids: list[str]) -> int:
    return fetch(url, "SELECT count(*) n FROM enrollment WHERE client_id = ANY($1::uuid[])", client_ids)[0]["n"]


def test_an_agent_records_once_and_a_replay_returns_the_original(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    first = post(server, RECORD, {"input": item(1, agent["reached"])}, auth=auth)["data"]["recordEnrollment"]
    again = post(server, RECORD, {"input": item(1, agent["reached"])}, auth=auth)["data"]["recordEnrollment"]
    assert first["status"] == "CREATED" and again["status"] == "DUPLICATE"
    assert again["enrollment"]["id"] == first["enrollment"]["id"]
    assert first["enrollment"]["agent"]["code"] == agent["code"]
    assert first["enrollment"]["participant"]["nikLast4"] == nik(1)[-4:]
    assert count(url, [item(1, "")["clientId"]]) == 1
    stored = fetch(url, "SELECT p.nik_hash, p.nik_last4 FROM participant p JOIN enrollment e ON e.participant_id = p.id "
                        "WHERE e.client_id = $1::uuid", item(1, "")["clientId"])[0]
    assert nik(1).encode() not in bytes(stored["nik_hash"]) and stored["nik_last4"] == nik(1)[-4:]
    audit = fetch(url, "SELECT subject, role, action, after FROM audit_log WHERE entity = 'enrollment' "
                       "AND after->>'clientId' = $1", item(1, "")["clientId"])
    assert len(audit) == 1 and audit[0]["role"] == "agent" and audit[0]["action"] == "recordEnrollment"


def test_the_same_client_id_with_other_content_is_a_conflict(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    post(server, RECORD, {"input": item(2, agent["reached"])}, auth=auth)
    body = post(server, RECORD, {"input": item(2, agent["reached"], monthlyContributionIdr=36800)}, auth=auth)
    assert error_codes(body) == ["CONFLICT"] and body["errors"][0]["extensions"]["field"] == "input.clientId"
    assert count(url, [item(2, "")["clientId"]]) == 1


def test_a_participant_already_enrolled_is_refused_naming_the_enrollment(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    first = post(server, RECORD, {"input": item(3, agent["reached"])}, auth=auth)["data"]["recordEnrollment"]
    body = post(server, RECORD, {"input": item(3, agent["reached"], clientId=str(uuid.uuid4()))}, auth=auth)
    assert error_codes(body) == ["ALREADY_ENROLLED"]
    number = fetch(url, "SELECT id FROM enrollment WHERE client_id = $1::uuid", item(3, "")["clientId"])[0]["id"]
    assert f"#{number}" in body["errors"][0]["message"] and first["status"] == "CREATED"


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_one_person_is_one_participant_whatever_digits_the_phone_typed(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    plain = item(21, agent["reached"])
    assert post(server, RECORD, {"input": plain}, auth=auth)["data"]["recordEnrollment"]["status"] == "CREATED"
    fullwidth = {**plain, "clientId": str(uuid.uuid4()), "nik": plain["nik"][:6] + plain["nik"][6:].translate(FULLWIDTH)}
    body = post(server, RECORD, {"input": fullwidth}, auth=auth)
    assert error_codes(body) == ["ALREADY_ENROLLED"], body  # NFKC: the same NIK, the same participant
    last4 = fetch(url, "SELECT nik_last4 FROM participant ORDER BY id DESC LIMIT 1")[0]["nik_last4"]
    assert last4 == plain["nik"][-4:]
    for digits in (ARABIC_INDIC, str.maketrans("0123456789", "०१२३४५६७८९"), str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")):
        other = {**plain, "clientId": str(uuid.uuid4()), "nik": plain["nik"][:2] + plain["nik"][2:6].translate(digits) + plain["nik"][6:]}
        body = post(server, RECORD, {"input": other}, auth=auth)
        assert error_codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["field"] == "input.nik", body
        assert "0-9" in body["errors"][0]["message"] and count(url, [other["clientId"]]) == 0


LAPSE = """mutation($id: ID!) { lapseEnrollment(id: $id) { status } }"""


def test_a_lapsed_participant_re_enrolls_on_another_day_only(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    first = post(server, RECORD, {"input": item(11, agent["reached"])}, auth=auth)["data"]["recordEnrollment"]["enrollment"]
    assert post(server, LAPSE, {"id": first["id"]})["data"]["lapseEnrollment"]["status"] == "LAPSED"
    again = item(11, agent["reached"], clientId=str(uuid.uuid4()))
    body = post(server, RECORD, {"input": again}, auth=auth)
    assert error_codes(body) == ["ALREADY_ENROLLED"] and body["errors"][0]["extensions"]["field"] == "input.enrolledOn"
    number = fetch(url, "SELECT id FROM enrollment WHERE client_id = $1::uuid", item(11, "")["clientId"])[0]["id"]
    assert f"#{number}" in body["errors"][0]["message"] and count(url, [again["clientId"]]) == 0
    later = {**again, "enrolledOn": (TODAY - dt.timedelta(days=1)).isoformat()}
    assert post(server, RECORD, {"input": later}, auth=auth)["data"]["recordEnrollment"]["status"] == "CREATED"


@pytest.mark.parametrize("who", ["other agent", "far village", "manager outside scope", "planner"])
def test_permission_rules(writable: tuple[str, str], who: str) -> None:
    url, server = writable
    agent = an_agent(url)
    other = fetch(url, "SELECT code FROM agent WHERE code <> $1 ORDER BY code LIMIT 1", agent["code"])[0]["code"]
    cases = {
        "other agent": (token("agent", agent=agent["code"]), item(4, agent["reached"], agentCode=other), "input.agentCode"),
        "far village": (token("agent", agent=agent["code"]), item(5, agent["far"]), "input.villageCode"),
        "manager outside scope": (token("manager", "99.71"), item(6, agent["reached"], agentCode=agent["code"]),
                                  "input.villageCode"),
        "planner": (token("planner"), item(7, agent["reached"], agentCode=agent["code"]), None),
    }
    auth, payload, field = cases[who]
    body = post(server, RECORD, {"input": payload}, auth=auth)
    assert error_codes(body) == ["FORBIDDEN"], body
    assert body["errors"][0].get("extensions", {}).get("field") == field
    assert count(url, [payload["clientId"]]) == 0


def test_a_manager_records_for_an_agent_of_its_scope_in_the_home_district(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    home_district_village = fetch(url, "SELECT min(code) c FROM village WHERE district_code = $1", agent["home"][:8])[0]["c"]
    got = post(server, RECORD, {"input": item(8, home_district_village, agentCode=agent["code"])},
               auth=token("manager", agent["home"][:5]))
    assert got["data"]["recordEnrollment"]["status"] == "CREATED", got


@pytest.mark.parametrize(("change", "field"), [
    ({"nik": "12345"}, "input.nik"),
    ({"nik": "9901015708900001"}, "input.nik"),  # 99 is not a province of a NIK
    ({"nik": "3471013213900001"}, "input.nik"),  # no 32nd day
    ({"name": "  "}, "input.name"),
    ({"villageCode": "99.01.01"}, "input.villageCode"),
    ({"villageCode": "99.01.01.9999"}, "input.villageCode"),  # well formed, absent: NOT_FOUND
    ({"programmes": []}, "input.programmes"),
    ({"monthlyContributionIdr": 500}, "input.monthlyContributionIdr"),
    ({"monthlyContributionIdr": 50_000_000}, "input.monthlyContributionIdr"),
    ({"enrolledOn": (TODAY + dt.timedelta(days=2)).isoformat()}, "input.enrolledOn"),  # future even past a midnight
    ({"gps": {"lng": 10.0, "lat": 50.0}}, "input.gps"),
    ({"gps": {"lng": 128.0, "lat": -6.5, "accuracyM": -1}}, "input.gps.accuracyM"),
])
def test_each_bad_input_names_its_field_and_saves_nothing(writable: tuple[str, str], change: dict[str, Any], field: str) -> None:
    url, server = writable
    agent = an_agent(url)
    payload = item(9, agent["reached"], clientId=str(uuid.uuid4()), **change)
    body = post(server, RECORD, {"input": payload}, auth=token("agent", agent=agent["code"]))
    assert error_codes(body) in (["BAD_USER_INPUT"], ["NOT_FOUND"]), body
    assert body["errors"][0]["extensions"]["field"] == field
    assert count(url, [payload["clientId"]]) == 0


def test_a_malformed_client_id_is_rejected_by_the_schema(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    body = post(server, RECORD, {"input": item(10, agent["reached"], clientId="not-a-uuid")},
                auth=token("agent", agent=agent["code"]))
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == "input.clientId"


def test_a_batch_with_mixed_items_saves_the_good_ones(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    good = [item(100 + i, agent["reached"]) for i in range(5)]
    bad = [item(200, agent["reached"], nik="123"), item(201, agent["far"]), item(202, "99.01.01.9999")]
    clash = item(203, agent["reached"], nik=good[0]["nik"])  # the same person as the first good item
    body = post(server, SYNC, {"items": [*good[:3], *bad, clash, *good[3:]]}, auth=auth)["data"]["syncEnrollments"]
    assert (body["created"], body["duplicates"], body["rejected"]) == (5, 0, 4)
    statuses = [(r["status"], r["code"]) for r in body["results"]]
    assert statuses[3:7] == [("REJECTED", "BAD_USER_INPUT"), ("REJECTED", "FORBIDDEN"), ("REJECTED", "NOT_FOUND"),
                             ("REJECTED", "ALREADY_ENROLLED")]
    assert [r["clientId"] for r in body["results"]] == [i["clientId"] for i in [*good[:3], *bad, clash, *good[3:]]]
    assert count(url, [i["clientId"] for i in good + bad + [clash]]) == 5


def test_an_interrupted_batch_retried_in_full_leaves_one_row_per_item(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    villages = [r["village_code"] for r in fetch(url, "SELECT r.village_code FROM agent_reach r JOIN agent a ON "
                                                      "a.id = r.agent_id WHERE a.code = $1", agent["code"])]
    batch = [item(1000 + i, villages[i % len(villages)]) for i in range(1000)]
    ids = [i["clientId"] for i in batch]
    # The client gives up long before the server answers: the connection drops mid-request.
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{server}/graphql", json={"query": SYNC, "variables": {"items": batch}},
                   headers={"authorization": f"Bearer {auth}"}, timeout=0.05)
    retry = post(server, SYNC, {"items": batch}, auth=auth)["data"]["syncEnrollments"]
    assert retry["rejected"] == 0 and retry["created"] + retry["duplicates"] == 1000
    assert count(url, ids) == 1000
    again = post(server, SYNC, {"items": batch}, auth=auth)["data"]["syncEnrollments"]
    assert again["duplicates"] == 1000 and count(url, ids) == 1000


def test_batches_are_bounded(writable: tuple[str, str]) -> None:
    url, server = writable
    agent = an_agent(url)
    body = post(server, SYNC, {"items": [item(5000 + i, agent["reached"]) for i in range(1001)]},
                auth=token("agent", agent=agent["code"]))
    assert error_codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["field"] == "items"


def test_twenty_clients_recording_and_replaying_the_same_thousand_at_once(writable: tuple[str, str]) -> None:
    """Exactly one row per item, and no outcome but created or duplicate."""
    from concurrent.futures import ThreadPoolExecutor

    url, server = writable
    agent = an_agent(url)
    auth = token("agent", agent=agent["code"])
    villages = [r["village_code"] for r in fetch(url, "SELECT r.village_code FROM agent_reach r JOIN agent a ON "
                                                      "a.id = r.agent_id WHERE a.code = $1", agent["code"])]
    batch = [item(20_000 + i, villages[i % len(villages)]) for i in range(1000)]

    def client(_: int) -> list[dict[str, Any]]:
        results = []
        for _round in range(2):  # record, then replay
            body = post(server, SYNC.replace("message", "message"), {"items": batch}, auth=auth)
            assert "errors" not in body, body["errors"]
            results += body["data"]["syncEnrollments"]["results"]
        return results

    with ThreadPoolExecutor(20) as pool:
        outcomes = [r for results in pool.map(client, range(20)) for r in results]
    assert {r["status"] for r in outcomes} <= {"CREATED", "DUPLICATE"}, {
        (r["code"], r["message"]) for r in outcomes if r["status"] == "REJECTED"}
    assert sum(r["status"] == "CREATED" for r in outcomes) == 1000
    assert count(url, [i["clientId"] for i in batch]) == 1000
