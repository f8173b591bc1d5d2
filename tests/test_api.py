"""The HTTP endpoint, through a real uvicorn server on loopback."""

from __future__ import annotations

import httpx
import shapely
from shapely.geometry import shape

from tests.conftest import fetch

QUERY = "query($code: String!) { village(code: $code) { code name districtCode areaKm2 geometry labelPoint } }"


def graphql(server: str, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(f"{server}/graphql", json={"query": query, "variables": variables or {}}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_healthz(server: str) -> None:
    body = httpx.get(f"{server}/healthz").json()
    assert body["status"] == "ok" and body["postgis"].startswith("3.")


def test_village_returns_geojson_equal_to_the_stored_geometry(server: str, shared_demo_db: str) -> None:
    row = fetch(shared_demo_db, "SELECT code, name, ST_AsBinary(geom) AS g FROM village ORDER BY code LIMIT 1")[0]
    body = graphql(server, QUERY, {"code": row["code"]})
    assert "errors" not in body
    village = body["data"]["village"]
    assert (village["code"], village["name"], village["districtCode"]) == (row["code"], row["name"], row["code"][:8])
    assert village["geometry"]["type"] == "MultiPolygon"
    served = shape(village["geometry"])
    assert served.hausdorff_distance(shapely.from_wkb(row["g"])) < 1e-6
    assert served.contains(shape(village["labelPoint"]))


def test_unknown_village_is_null(server: str) -> None:
    assert graphql(server, QUERY, {"code": "99.99.99.9999"}) == {"data": {"village": None}}


def test_graphiql_is_served_in_development(server: str) -> None:
    response = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
