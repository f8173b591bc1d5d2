"""The HTTP endpoint, through a real uvicorn server on loopback."""

from __future__ import annotations

import httpx
import shapely
from shapely.geometry import shape

from tests.conftest import data, error_codes, fetch, post

QUERY = "query($code: String!) { village(code: $code) { code name district { code } areaKm2 geometry labelPoint } }"


def test_healthz(server: str) -> None:
    body = httpx.get(f"{server}/healthz").json()
    assert body["status"] == "ok" and body["postgis"].startswith("3.")


def test_village_returns_geojson_equal_to_the_stored_geometry(server: str, shared_demo_db: str) -> None:
    row = fetch(shared_demo_db, "SELECT code, name, ST_AsBinary(geom) AS g FROM village ORDER BY code LIMIT 1")[0]
    village = data(server, QUERY, {"code": row["code"]})["village"]
    assert (village["code"], village["name"], village["district"]["code"]) == (row["code"], row["name"], row["code"][:8])
    assert village["geometry"]["type"] == "MultiPolygon"
    served = shape(village["geometry"])
    assert served.hausdorff_distance(shapely.from_wkb(row["g"])) < 1e-6
    assert served.contains(shape(village["labelPoint"]))


def test_unknown_village_is_null_with_not_found(server: str) -> None:
    body = post(server, QUERY, {"code": "99.99.99.9999"})
    assert body["data"] == {"village": None}
    assert error_codes(body) == ["NOT_FOUND"]
    assert "99.99.99.9999" in body["errors"][0]["message"]


def test_malformed_code_is_bad_user_input(server: str) -> None:
    body = post(server, QUERY, {"code": "99-01"})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "code"


def test_graphiql_is_served_in_development(server: str) -> None:
    response = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
