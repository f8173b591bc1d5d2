"""The API over the real DI Yogyakarta boundaries (skipped when ../shared/data/indonesia is absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box, shape
from typer.testing import CliRunner

from cli.main import app
from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, require_data, running_server

pytestmark = pytest.mark.real_data
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def diy(cluster: EmbeddedCluster, templates: dict[str, str],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, shapely.Geometry]]]:
    folder = require_data("diy_regencies.geojson", "diy_districts.geojson", "diy_villages.geojson")
    for url in _clone(cluster, templates["empty"]):
        for level in ("regency", "district", "village"):
            name = {"regency": "diy_regencies", "district": "diy_districts", "village": "diy_villages"}[level]
            result = CliRunner().invoke(app, ["import", "boundaries", str(folder / f"{name}.geojson"), "--level", level],
                                        env={"DATABASE_URL": url})
            assert result.exit_code == 0, result.output
        features = json.loads(Path(folder / "diy_villages.geojson").read_text())["features"]
        villages = {f["properties"]["code"]: shapely.make_valid(shape(f["geometry"])) for f in features}
        with running_server(url, tmp_path_factory.mktemp("diy")) as server:
            yield server, villages


def test_real_hierarchy_matches_the_files(diy: tuple[str, dict]) -> None:
    server, villages = diy
    city = data(server, """{ regency(code: "34.71") { name province { code name }
        districts(first: 100) { totalCount edges { node { code villages(first: 100) { edges { node { code district { code } } } } } } } } }""")["regency"]
    assert city["province"] == {"code": "34", "name": "DI Yogyakarta"}
    served = {v["node"]["code"] for d in city["districts"]["edges"] for v in d["node"]["villages"]["edges"]}
    assert served == {c for c in villages if c.startswith("34.71.")} and len(served) == 45


def test_real_geometry_and_simplification(diy: tuple[str, dict]) -> None:
    server, villages = diy
    query = """{ villages(filter: {regionCode: "34.04.07"}, first: 100) { edges { node { code
        full: geometry light: geometry(simplifyM: 30, precision: 5) } } } }"""
    edges = data(server, query)["villages"]["edges"]
    assert edges
    for edge in edges:
        original = villages[edge["node"]["code"]]
        assert edge["node"]["full"]["type"] == edge["node"]["light"]["type"] == "MultiPolygon"
        full, light = shape(edge["node"]["full"]), shape(edge["node"]["light"])
        assert full.area == pytest.approx(original.area, rel=1e-6)
        assert light.is_valid and shapely.get_num_coordinates(light) <= shapely.get_num_coordinates(full)
        assert light.area == pytest.approx(original.area, rel=0.05)


def test_real_bbox_and_near(diy: tuple[str, dict]) -> None:
    server, villages = diy
    area = (110.35, -7.83, 110.40, -7.78)  # central Yogyakarta
    result = data(server, """query($b: [Float!]) { villages(filter: {bbox: $b}, first: 500) {
        totalCount edges { node { code labelPoint } } } }""", {"b": list(area)})["villages"]
    expected = {c for c, g in villages.items() if g.intersects(box(*area))}
    assert {e["node"]["code"] for e in result["edges"]} == expected and result["totalCount"] == len(expected) > 20
    points = {e["node"]["code"]: e["node"]["labelPoint"]["coordinates"] for e in result["edges"]}
    lng, lat = 110.3695, -7.7956  # Tugu Yogyakarta
    near = data(server, """{ villages(filter: {near: {lng: 110.3695, lat: -7.7956, radiusM: 2000}}, first: 500) {
        edges { distanceM node { code labelPoint } } } }""")["villages"]["edges"]
    assert near
    for edge in near:
        x, y = edge["node"]["labelPoint"]["coordinates"]
        assert edge["distanceM"] == pytest.approx(GEOD.inv(lng, lat, x, y)[2], abs=0.05) and edge["distanceM"] <= 2000
    inside_box = [c for c, (x, y) in points.items() if GEOD.inv(lng, lat, x, y)[2] <= 1900]
    assert set(inside_box) <= {e["node"]["code"] for e in near}
