"""dataQuality through HTTP, each reason checked against an independent computation.

Distances are recomputed with pyproj and Shapely: an azimuthal equidistant projection centred on
the point measured from keeps true distances from that point, so the Shapely distance from the
origin to the projected village is the geodesic distance to the village.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, error_codes, fetch, post, running_server, token

TODAY = dt.date.today()
FLAGS = """query($region: String, $reasons: [DataQualityReason!], $asOf: Date, $first: Int, $after: String) {
    dataQuality(regionCode: $region, reasons: $reasons, asOf: $asOf, first: $first, after: $after) {
        edges { cursor node { reason message villageCode distanceM allowedM count lastEnrolledOn
                enrollment { id } agent { code } } }
        pageInfo { hasNextPage endCursor } } }"""
RECORD = """mutation($input: EnrollmentInput!) { recordEnrollment(input: $input) { enrollment { id } } }"""
LAPSE = """mutation($id: ID!) { lapseEnrollment(id: $id) { id status } }"""


def distance_m(origin: tuple[float, float], shape: BaseGeometry) -> float:
    """Geodesic metres from a lon/lat point to a lon/lat shape (0 inside it)."""
    aeqd = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={origin[1]} +lon_0={origin[0]} +ellps=WGS84", always_xy=True)
    projected = shapely.transform(shape, lambda xy: np.column_stack(aeqd.transform(xy[:, 0], xy[:, 1])))
    return float(projected.distance(Point(0, 0)))


def nik(i: int) -> str:
    return f"349902{(i % 28) + 1:02d}0390{i % 9999 + 1:04d}"


def item(i: int, village: str, agent: str, gps: tuple[float, float] | None = None, accuracy: float = 10,
         **changes: Any) -> dict[str, Any]:
    base = {"clientId": str(uuid.UUID(int=i + 5 * 10**6)), "nik": nik(i), "name": f"Peserta {i}",
            "villageCode": village, "agentCode": agent, "programmes": ["JKK"], "monthlyContributionIdr": 16800,
            "enrolledOn": TODAY.isoformat()}
    if gps is not None:
        base["gps"] = {"lng": gps[0], "lat": gps[1], "accuracyM": accuracy}
    return {**base, **changes}


def villages(url: str) -> dict[str, BaseGeometry]:
    rows = fetch(url, "SELECT code, ST_AsBinary(geom) AS wkb FROM village WHERE geom IS NOT NULL")
    return {r["code"]: shapely.from_wkb(bytes(r["wkb"])) for r in rows}


@pytest.fixture(scope="module")
def flagged(cluster: EmbeddedCluster, templates: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A demo database with field records of every suspicious kind, recorded through the API."""
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, Path(tmp_path_factory.mktemp("quality"))) as server:
            _record_suspicious(url, server)
            yield url, server


def _record_suspicious(url: str, server: str) -> None:
    shapes = villages(url)
    a, b = fetch(url, """SELECT a.code, min(r.village_code) AS reached, ST_X(a.location) AS lng, ST_Y(a.location) AS lat
        FROM agent a JOIN agent_reach r ON r.agent_id = a.id WHERE a.status = 'active'
        GROUP BY a.code, a.location ORDER BY a.code LIMIT 2""")
    home = shapes[a["reached"]]
    inside = home.representative_point()
    outside = shapely.get_point(home.buffer(0.01).exterior, 0)  # ~1.1 km outside, in degrees at this latitude
    farthest = max(shapes, key=lambda c: distance_m((a["lng"], a["lat"]), shapes[c]))

    def record(payload: dict[str, Any]) -> str:
        body = post(server, RECORD, {"input": payload})
        assert "errors" not in body, body
        return str(body["data"]["recordEnrollment"]["enrollment"]["id"])

    record(item(1, a["reached"], a["code"], (inside.x, inside.y)))  # inside: fine
    record(item(2, a["reached"], a["code"], (outside.x, outside.y), accuracy=50))  # outside by more than accuracy
    record(item(3, a["reached"], a["code"], (outside.x + 1e-6, outside.y), accuracy=5000))  # outside, within accuracy
    record(item(4, farthest, a["code"]))  # far beyond the agent's reach
    for i in (5, 6, 7):  # a burst of three at one point
        record(item(i, a["reached"], a["code"], (inside.x + 1e-4, inside.y)))
    for i in (8, 9):  # only two at another point: no burst
        record(item(i, a["reached"], a["code"], (inside.x + 2e-4, inside.y)))
    first = record(item(10, a["reached"], a["code"]))  # one NIK, two agents (after the first lapsed)
    assert "errors" not in post(server, LAPSE, {"id": first})
    record(item(11, b["reached"], b["code"], nik=nik(10), enrolledOn=(TODAY - dt.timedelta(days=1)).isoformat()))


def all_flags(server: str, auth: str = "admin", size: int = 40, **variables: Any) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    after = None
    while True:
        body = post(server, FLAGS, {**variables, "first": size, "after": after}, auth=auth)
        assert "errors" not in body, body
        page = body["data"]["dataQuality"]
        flags += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return flags
        after = page["pageInfo"]["endCursor"]


def by_reason(flags: list[dict[str, Any]], reason: str) -> dict[str, dict[str, Any]]:
    return {f["enrollment"]["id"] if f["enrollment"] else f["agent"]["code"]: f for f in flags if f["reason"] == reason}


def gps_rows(url: str) -> list[Any]:
    return fetch(url, """SELECT e.id, e.village_code, ST_X(e.gps) AS lng, ST_Y(e.gps) AS lat, e.gps_accuracy_m,
        e.recorded_at FROM enrollment e WHERE e.gps IS NOT NULL""")


def test_gps_points_outside_their_village_by_more_than_their_accuracy(flagged: tuple[str, str]) -> None:
    url, server = flagged
    shapes = villages(url)
    got = by_reason(all_flags(server, reasons=["GPS_OUTSIDE_VILLAGE"]), "GPS_OUTSIDE_VILLAGE")
    expected = {}
    for r in gps_rows(url):
        d = distance_m((r["lng"], r["lat"]), shapes[r["village_code"]])
        if d > (r["gps_accuracy_m"] or 0):
            expected[r["id"]] = d
    ids = {_number(k): f for k, f in got.items()}
    assert set(ids) == set(expected) and len(expected) == 1
    for number, d in expected.items():
        assert ids[number]["distanceM"] == pytest.approx(d, rel=0.01)
        assert 900 < d < 1300 and ids[number]["allowedM"] == 50


def test_enrollments_far_outside_the_agents_reach(flagged: tuple[str, str]) -> None:
    url, server = flagged
    shapes = villages(url)
    rows = fetch(url, """SELECT e.id, e.village_code, ST_X(a.location) AS lng, ST_Y(a.location) AS lat, a.reach_m
        FROM enrollment e JOIN agent a ON a.id = e.agent_id""")
    got = {_number(k): f for k, f in by_reason(all_flags(server, reasons=["OUTSIDE_AGENT_REACH"]),
                                               "OUTSIDE_AGENT_REACH").items()}
    expected, unclear = {}, set()
    pairs = {(r["lng"], r["lat"], r["village_code"]) for r in rows}
    distances = {(lng, lat, v): distance_m((lng, lat), shapes[v]) for lng, lat, v in pairs}
    for r in rows:
        d = distances[r["lng"], r["lat"], r["village_code"]]
        allowed = 2 * r["reach_m"]
        if abs(d - allowed) < 0.005 * allowed:
            unclear.add(r["id"])  # projection error could tip it either way
        elif d > allowed:
            expected[r["id"]] = d
    assert set(got) - unclear == set(expected) and expected
    for number, d in expected.items():
        assert got[number]["distanceM"] == pytest.approx(d, rel=0.01)


def test_one_nik_enrolled_by_two_agents(flagged: tuple[str, str]) -> None:
    url, server = flagged
    rows = fetch(url, "SELECT id, participant_id, agent_id FROM enrollment")
    agents_of: dict[int, set[int]] = defaultdict(set)
    for r in rows:
        agents_of[r["participant_id"]].add(r["agent_id"])
    expected = {r["id"]: len(agents_of[r["participant_id"]]) for r in rows if len(agents_of[r["participant_id"]]) > 1}
    got = {_number(k): f["count"] for k, f in by_reason(all_flags(server, reasons=["NIK_SHARED_BY_AGENTS"]),
                                                        "NIK_SHARED_BY_AGENTS").items()}
    assert got == expected and len(expected) >= 2


def test_bursts_of_identical_gps_points(flagged: tuple[str, str]) -> None:
    url, server = flagged
    rows = gps_rows(url)
    expected = {}
    for r in rows:
        same = [o for o in rows if (o["lng"], o["lat"]) == (r["lng"], r["lat"])
                and abs(o["recorded_at"] - r["recorded_at"]) <= dt.timedelta(hours=1)]
        if len(same) >= 3:
            expected[r["id"]] = len(same)
    got = {_number(k): f["count"] for k, f in by_reason(all_flags(server, reasons=["IDENTICAL_GPS_BURST"]),
                                                        "IDENTICAL_GPS_BURST").items()}
    assert got == expected and sorted(expected.values()) == [3, 3, 3]


@pytest.mark.parametrize("as_of", [TODAY, TODAY - dt.timedelta(days=200)])
def test_active_agents_without_an_enrollment_in_90_days(flagged: tuple[str, str], as_of: dt.date) -> None:
    url, server = flagged
    agents = fetch(url, "SELECT id, code, status, joined_on FROM agent")
    dates: dict[int, list[dt.date]] = defaultdict(list)
    for r in fetch(url, "SELECT agent_id, enrolled_on FROM enrollment"):
        dates[r["agent_id"]].append(r["enrolled_on"])
    window = as_of - dt.timedelta(days=90)
    expected = {
        a["code"]: max((d for d in dates[a["id"]] if d <= as_of), default=None) for a in agents
        if a["status"] == "active" and a["joined_on"] <= window
        and not any(window < d <= as_of for d in dates[a["id"]])
    }
    flags = by_reason(all_flags(server, reasons=["AGENT_INACTIVE"], asOf=as_of.isoformat()), "AGENT_INACTIVE")
    got = {code: (dt.date.fromisoformat(f["lastEnrolledOn"]) if f["lastEnrolledOn"] else None) for code, f in flags.items()}
    assert got == expected and expected, f"{len(agents)} agents, none inactive at {as_of}: the check proves nothing"
    assert all("90 days" in f["message"] for f in flags.values())


def test_managers_see_their_scope_only(flagged: tuple[str, str]) -> None:
    url, server = flagged
    everything = all_flags(server)
    district = everything[0]["villageCode"][:8]
    scoped = all_flags(server, auth=token("manager", district))
    homes = {r["code"]: r["home"] for r in fetch(url, "SELECT code, home_village_code AS home FROM agent")}
    inside = [f for f in everything if f["villageCode"].startswith(district + ".")]
    # The same flags; an agent whose home lies outside the scope is hidden, as everywhere.
    assert [{**f, "agent": None} for f in scoped] == [{**f, "agent": None} for f in inside] and scoped
    assert [f["agent"] for f in scoped] == [
        f["agent"] if homes[f["agent"]["code"]].startswith(district + ".") else None for f in inside]
    assert all_flags(server, auth=token("manager", district), region=district) == scoped
    # Planners get every flag but those of enrollments in villages whose counts are suppressed.
    hidden = {r["code"] for r in fetch(url, "SELECT code FROM hidden_enrollment_cell")}
    planner = [f for f in everything if f["reason"] == "AGENT_INACTIVE" or f["villageCode"] not in hidden]
    assert all_flags(server, auth=token("planner")) == planner and len(planner) < len(everything)
    assert {f["reason"] for f in everything} == {
        "GPS_OUTSIDE_VILLAGE", "OUTSIDE_AGENT_REACH", "NIK_SHARED_BY_AGENTS", "IDENTICAL_GPS_BURST", "AGENT_INACTIVE"}


@pytest.mark.parametrize("region", [None, "99"])  # national and regional statements differ
def test_pages_are_ordered_by_reason_without_gaps_or_repeats(flagged: tuple[str, str], region: str | None) -> None:
    _, server = flagged
    small = all_flags(server, size=3, region=region)
    assert small == all_flags(server, region=region) and len(small) > 6
    order = ["GPS_OUTSIDE_VILLAGE", "OUTSIDE_AGENT_REACH", "NIK_SHARED_BY_AGENTS", "IDENTICAL_GPS_BURST", "AGENT_INACTIVE"]
    assert [order.index(f["reason"]) for f in small] == sorted(order.index(f["reason"]) for f in small)
    ids = [(f["reason"], f["enrollment"]["id"] if f["enrollment"] else f["agent"]["code"]) for f in small]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("who", ["manager outside scope", "agent"])
def test_who_may_not_read_flags(flagged: tuple[str, str], who: str) -> None:
    url, server = flagged
    agent = fetch(url, "SELECT code FROM agent ORDER BY code LIMIT 1")[0]["code"]
    auth, region = {"manager outside scope": (token("manager", "99.71"), "34"),
                    "agent": (token("agent", agent=agent), None)}[who]
    body = post(server, FLAGS, {"region": region}, auth=auth)
    assert error_codes(body) == ["FORBIDDEN"] and body["data"] is None
    assert body["errors"][0]["extensions"]["field"] == "regionCode"


@pytest.mark.parametrize(("variables", "field", "code"), [
    ({"region": "34.7"}, "regionCode", "BAD_USER_INPUT"),
    ({"region": "99.98"}, "regionCode", "NOT_FOUND"),
    ({"reasons": []}, "reasons", "BAD_USER_INPUT"),
    ({"reasons": ["GPS_WRONG"]}, "reasons", "BAD_USER_INPUT"),
    ({"asOf": (TODAY + dt.timedelta(days=2)).isoformat()}, "asOf", "BAD_USER_INPUT"),
    ({"first": 501}, "first", "BAD_USER_INPUT"),
    ({"after": "bm90IGEgY3Vyc29y"}, "after", "BAD_USER_INPUT"),
])
def test_bad_arguments_name_the_field(flagged: tuple[str, str], variables: dict[str, Any], field: str, code: str) -> None:
    _, server = flagged
    body = post(server, FLAGS, variables)
    assert error_codes(body) == [code], body
    assert field in body["errors"][0]["extensions"].get("field", body["errors"][0]["message"])


def _number(global_id: str) -> int:
    """The enrollment number inside a global id."""
    return int(base64.b64decode(global_id).decode().rsplit(":", 1)[1])
