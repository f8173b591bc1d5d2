"""OGC API - Features as QGIS uses it (landing page, conformance, collections, items with bbox and
limit, following `next` links), compared feature by feature with what GraphQL answers for the
same filter; scoped by the token; coded refusals for every bad parameter."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.conftest import data, token

QGIS_HEADERS = {"accept": "application/json", "user-agent": "Mozilla/5.0 QGIS/33400/Linux"}


def get(server: str, path: str, auth: str | None = "admin", **params: Any) -> httpx.Response:
    headers = dict(QGIS_HEADERS)
    if auth is not None:
        headers["authorization"] = f"Bearer {token(auth) if auth in ('admin', 'planner') else auth}"
    return httpx.get(f"{server}{path}", params=params, headers=headers, timeout=60)


def every_feature(server: str, collection: str, auth: str = "admin", **params: Any) -> list[dict[str, Any]]:
    """All pages, following `next` links as QGIS does."""
    response = get(server, f"/ogc/collections/{collection}/items", auth, **params)
    features: list[dict[str, Any]] = []
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/geo+json")
        page = response.json()
        assert page["type"] == "FeatureCollection" and page["numberReturned"] == len(page["features"])
        features += page["features"]
        pages += 1
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            return features
        response = httpx.get(following[0], headers={**QGIS_HEADERS, "authorization": f"Bearer {token(auth) if auth in ('admin', 'planner') else auth}"}, timeout=60)


def test_qgis_connects_lists_collections_and_reads_villages_in_a_box_as_graphql_has_them(server: str) -> None:
    landing = get(server, "/ogc").json()
    assert {link["rel"] for link in landing["links"]} >= {"self", "conformance", "data"}
    conformance = get(server, "/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    collections = {c["id"]: c for c in get(server, "/ogc/collections").json()["collections"]}
    assert set(collections) == {"villages", "gaps", "agents"}
    assert get(server, "/ogc/collections/villages").json()["extent"]["spatial"]["bbox"]
    point = data(server, '{ district(code: "99.01.01") { labelPoint } }')["district"]["labelPoint"]["coordinates"]
    box = [point[0] - 0.1, point[1] - 0.1, point[0] + 0.1, point[1] + 0.1]
    features = every_feature(server, "villages", limit=7, bbox=",".join(map(str, box)))
    answer = data(server, """query($b: [Float!]) { villages(filter: {bbox: $b}, first: 500) { totalCount edges { node {
        code name coverage { agentCount informalWorkers activeEnrollments penetration } } } } }""", {"b": box})["villages"]
    graphql = {e["node"]["code"]: e["node"] for e in answer["edges"]}
    assert len(features) > 7, "several pages for this test to mean anything"
    assert [f["id"] for f in features] == sorted(graphql)  # same features, code order, no page repeats or skips
    for f in features:
        p, g = f["properties"], graphql[f["id"]]
        assert (p["name"], p["agents"], p["informal_workers"], p["active_enrollments"]) == (
            g["name"], g["coverage"]["agentCount"], g["coverage"]["informalWorkers"], g["coverage"]["activeEnrollments"])
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    single = get(server, f"/ogc/collections/villages/items/{features[0]['id']}").json()
    assert single == features[0]


def test_gaps_and_agents_with_filters_equal_graphql(server: str) -> None:
    gaps = every_feature(server, "gaps", regionCode="99.01", limit=50)
    answer = data(server, """{ coverageGaps(regionCode: "99.01", first: 500) { totalCount edges { node { reasons
        village { code } } } } }""")["coverageGaps"]
    assert {f["id"]: sorted(f["properties"]["reasons"]) for f in gaps} == {
        e["node"]["village"]["code"]: sorted(e["node"]["reasons"]) for e in answer["edges"]}
    assert gaps and len(gaps) == answer["totalCount"]
    agents = every_feature(server, "agents", regionCode="99.01", status="active", limit=20)
    listed = data(server, """{ agents(filter: {regionCode: "99.01", status: ACTIVE}, first: 500) { edges { node { code } } } }""")
    assert [f["id"] for f in agents] == [e["node"]["code"] for e in listed["agents"]["edges"]]
    assert all(f["geometry"]["type"] == "Point" and f["properties"]["status"] == "active" for f in agents)
    one = get(server, f"/ogc/collections/agents/items/{agents[0]['id']}").json()
    assert one == agents[0]


def test_features_are_scoped_by_the_token(server: str) -> None:
    manager = token("manager", "99.01.01")
    mine = every_feature(server, "villages", auth=manager, regionCode="99.01", limit=200)
    assert mine and all(f["id"].startswith("99.01.01.") for f in mine)
    assert get(server, "/ogc/collections/villages/items/99.71.01.2001", manager).status_code == 404
    assert get(server, "/ogc/collections", token("agent", agent="AG-000001")).status_code == 403
    assert get(server, "/ogc/collections", None).status_code == 401


def test_a_map_link_token_is_carried_on_in_every_link(server: str) -> None:
    url = data(server, '{ district(code: "99.01.01") { mapUrl } }', auth="planner")["district"]["mapUrl"]
    link = parse_qs(urlparse(url).query)["token"][0]
    page = httpx.get(f"{server}/ogc/collections/villages/items", params={"limit": 3, "regionCode": "99.01", "token": link},
                     timeout=60).json()
    following = [x["href"] for x in page["links"] if x["rel"] == "next"]
    assert following and parse_qs(urlparse(following[0]).query)["token"] == [link]
    assert httpx.get(following[0], timeout=60).status_code == 200


@pytest.mark.parametrize(("path", "params", "status"), [
    ("/ogc/collections/parcels", {}, 404),
    ("/ogc/collections/villages/items", {"bbox": "110,-8,109,-7"}, 400),
    ("/ogc/collections/villages/items", {"bbox": "a,b,c,d"}, 400),
    ("/ogc/collections/villages/items", {"bbox": "1,2,3"}, 400),
    ("/ogc/collections/villages/items", {"limit": "0"}, 400),
    ("/ogc/collections/villages/items", {"limit": "5000"}, 400),
    ("/ogc/collections/villages/items", {"limit": "١٠"}, 400),
    ("/ogc/collections/villages/items", {"regionCode": "99.0x"}, 400),
    ("/ogc/collections/villages/items", {"status": "active"}, 400),
    ("/ogc/collections/villages/items", {"sortby": "name"}, 400),
    ("/ogc/collections/villages/items", {"after": "'; DROP TABLE village; --"}, 400),
    ("/ogc/collections/villages/items", {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, 400),
    ("/ogc/collections/gaps/items", {}, 400),
    ("/ogc/collections/villages/items/nope%00", {}, 404),
    ("/ogc/collections/agents/items/AG-%00", {}, 404),
])
def test_bad_parameters_are_refused_with_a_code(server: str, path: str, params: dict[str, str], status: int) -> None:
    response = get(server, path, **params)
    assert response.status_code == status, response.text
    assert response.json()["code"] and response.json()["description"]
