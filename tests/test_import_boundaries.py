"""Boundary import: real DIY and national files, other GIS formats, and every bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyogrio.raw import read as read_raw
from pyogrio.raw import write as write_raw
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import assert_rejected as rejected
from tests.conftest import fetch, require_data, table_counts

runner = CliRunner()


def perisai(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"DATABASE_URL": url}, catch_exceptions=False)
    return result.exit_code, result.output


def import_file(url: str, path: Path | str, level: str, *extra: str) -> tuple[int, str]:
    return perisai(url, "import", "boundaries", str(path), "--level", level, *extra)


def geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def square(code: str | None, x: float = 110.40, y: float = -7.80, size: float = 0.01, name: str = "Desa") -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Feature", "properties": {"code": code, "name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


# -- real data --------------------------------------------------------------------------------

def test_diy_files_import_with_file_counts_valid_geometry_and_label_points_inside(empty_db: str) -> None:
    data = require_data("diy_regencies.geojson", "diy_districts.geojson", "diy_villages.geojson")
    expected = {}
    for level, name in [("regency", "diy_regencies"), ("district", "diy_districts"), ("village", "diy_villages")]:
        features = json.loads((data / f"{name}.geojson").read_text())["features"]
        expected[level] = len(features)
        code, output = import_file(empty_db, data / f"{name}.geojson", level)
        assert code == 0, output
    counts = table_counts(empty_db)
    assert {k: counts[k] for k in expected} == expected == {"regency": 5, "district": 78, "village": 438}
    assert counts["province"] == 1
    for level in expected:
        bad = fetch(empty_db, f"""
            SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)) AS invalid,
                   count(*) FILTER (WHERE GeometryType(geom) <> 'MULTIPOLYGON') AS not_multi,
                   count(*) FILTER (WHERE NOT ST_Contains(geom, label_point)) AS label_outside,
                   count(*) FILTER (WHERE geom IS NULL) AS missing
            FROM {level}""")[0]
        assert dict(bad) == {"invalid": 0, "not_multi": 0, "label_outside": 0, "missing": 0}, level


def test_diy_areas_are_geodesic(empty_db: str) -> None:
    """area_km2 agrees with pyproj's geodesic area of the same polygon (independent computation)."""
    from pyproj import Geod

    data = require_data("diy_villages.geojson")
    assert import_file(empty_db, data / "diy_villages.geojson", "village")[0] == 0
    geod = Geod(ellps="WGS84")
    rows = fetch(empty_db, "SELECT code, area_km2, ST_AsBinary(geom) AS wkb FROM village ORDER BY code LIMIT 60")
    for row in rows:
        expected = abs(geod.geometry_area_perimeter(shapely.from_wkb(row["wkb"]))[0]) / 1e6
        assert row["area_km2"] == pytest.approx(expected, rel=1e-6), row["code"]


def test_second_import_changes_nothing(empty_db: str) -> None:
    data = require_data("diy_districts.geojson")
    path = data / "diy_districts.geojson"
    assert import_file(empty_db, path, "district")[0] == 0
    before = fetch(empty_db, "SELECT code, name, ST_AsEWKB(geom) AS g, xmin::text AS x FROM district ORDER BY code")
    code, output = import_file(empty_db, path, "district")
    assert code == 0
    assert "0 new, 0 updated, 78 unchanged" in output
    after = fetch(empty_db, "SELECT code, name, ST_AsEWKB(geom) AS g, xmin::text AS x FROM district ORDER BY code")
    assert before == after  # same rows, same geometry, not even rewritten (same xmin)


def test_invalid_polygons_are_repaired_and_counted(empty_db: str) -> None:
    data = require_data("diy_districts.geojson")
    code, output = import_file(empty_db, data / "diy_districts.geojson", "district")
    assert code == 0
    # The shared README lists exactly these two as invalid ("Nested shells").
    assert "Repaired 2 invalid geometries" in output and "34.03.16" in output and "34.03.17" in output
    source = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"])
              for f in json.loads((data / "diy_districts.geojson").read_text())["features"]}
    for row in fetch(empty_db, "SELECT code, ST_AsBinary(geom) AS wkb FROM district WHERE code IN ('34.03.16', '34.03.17')"):
        stored = shapely.from_wkb(row["wkb"])
        assert stored.is_valid
        # structure repair keeps the region's area (nested parts merged, not punched out)
        assert stored.area == pytest.approx(shapely.make_valid(source[row["code"]]).area, rel=0.02)


@pytest.mark.slow
def test_national_files_import_fast_and_leave_every_geometry_valid(empty_db: str) -> None:
    data = require_data("indonesia_regencies.geojson.gz", "indonesia_districts.geojson.gz",
                        "indonesia_villages.geojson.gz")
    started = time.perf_counter()
    for level, name in [("regency", "regencies"), ("district", "districts"), ("village", "villages")]:
        code, output = import_file(empty_db, data / f"indonesia_{name}.geojson.gz", level)
        assert code == 0, output
    elapsed = time.perf_counter() - started
    counts = table_counts(empty_db)
    assert (counts["regency"], counts["district"], counts["village"]) == (514, 7285, 83402)
    assert counts["province"] == 38
    for level in ("regency", "district", "village"):
        bad = fetch(empty_db, f"SELECT count(*) FROM {level} WHERE geom IS NULL OR NOT ST_IsValid(geom) "
                              "OR GeometryType(geom) <> 'MULTIPOLYGON' OR NOT ST_Intersects(geom, label_point)")
        assert bad[0][0] == 0, level
    print(f"national import: {elapsed:.1f} s")  # the timing target lives in the closing note, not here


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp"), ("FlatGeobuf", ".fgb")])
def test_other_gis_formats(empty_db: str, tmp_path: Path, driver: str, suffix: str) -> None:
    data = require_data("diy_districts.geojson")
    meta, _, geometry, fields = read_raw(data / "diy_districts.geojson")
    path = tmp_path / f"districts{suffix}"
    write_raw(path, geometry, fields, fields=meta["fields"], geometry_type="MultiPolygon", crs="EPSG:4326",
              driver=driver, promote_to_multi=True)
    code, output = import_file(empty_db, path, "district")
    assert code == 0, output
    assert table_counts(empty_db)["district"] == 78


def test_projected_file_is_reprojected(empty_db: str, tmp_path: Path) -> None:
    """A GeoPackage in UTM 49S lands at the same place as its WGS84 original."""
    from pyproj import Transformer

    lng, lat = 110.40, -7.80
    tr = Transformer.from_crs(4326, 32749, always_xy=True)
    x, y = tr.transform(lng, lat)
    poly = shapely.box(x, y, x + 1000, y + 1000)
    path = tmp_path / "utm.gpkg"
    write_raw(path, np.array([shapely.to_wkb(poly)], dtype=object), [np.array(["34.71.01.1001"]), np.array(["Kricak"])],
              fields=["code", "name"], geometry_type="Polygon", crs="EPSG:32749", driver="GPKG")
    code, output = import_file(empty_db, path, "village")
    assert code == 0, output
    assert "Reprojected from EPSG:32749" in output
    back = Transformer.from_crs(32749, 4326, always_xy=True)
    expected = shapely.Polygon([back.transform(px, py) for px, py in poly.exterior.coords])
    stored = shapely.from_wkb(fetch(empty_db, "SELECT ST_AsBinary(geom) AS g FROM village")[0]["g"])
    assert stored.hausdorff_distance(expected) < 1e-9
    assert min(shapely.Point(lng, lat).distance(shapely.Point(c)) for c in expected.exterior.coords) < 1e-9


def test_missing_parents_are_created_code_only_and_reported(empty_db: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1001")])
    code, output = import_file(empty_db, path, "village")
    assert code == 0
    assert "province" in output and "regency" in output and "district" in output
    assert dict(fetch(empty_db, "SELECT code, name FROM province")[0]) == {"code": "34", "name": "DI Yogyakarta"}
    assert fetch(empty_db, "SELECT name FROM district")[0]["name"] is None


def test_feature_without_geometry_is_kept_without_boundary(empty_db: str, tmp_path: Path) -> None:
    feature = square("34.71.01.1002")
    feature["geometry"] = None
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1001"), feature])
    code, output = import_file(empty_db, path, "village")
    assert code == 0
    assert "1 feature(s) had no geometry" in output
    assert fetch(empty_db, "SELECT geom IS NULL AS g FROM village WHERE code = '34.71.01.1002'")[0]["g"]


# -- bad input: each exits non-zero, says what to do, and leaves the database as it was ---------

@pytest.fixture
def seeded(empty_db: str, tmp_path: Path) -> str:
    assert import_file(empty_db, geojson(tmp_path / "seed.geojson", [square("34.71.01.1001")]), "village")[0] == 0
    return empty_db


def assert_rejected(url: str, args: tuple[str, ...], *fragments: str) -> None:
    rejected(perisai, url, args, *fragments)


def test_missing_file(seeded: str) -> None:
    assert_rejected(seeded, ("import", "boundaries", "/nowhere/v.geojson", "--level", "village"), "File not found")


def test_non_gis_file(seeded: str, tmp_path: Path) -> None:
    path = tmp_path / "notes.geojson"
    path.write_text("these are my notes, not a map")
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village"), "is not a GIS file")


def test_feature_without_code(seeded: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1002"), square(None, name="Tanpa Kode")])
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village"),
                    "feature #2 (name 'Tanpa Kode')", "has no code")


def test_code_of_wrong_level(seeded: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1002"), square("34.71.01", x=110.5)])
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village"),
                    "feature #2 (code 34.71.01)", "not a village code like 34.71.01.1001")


def test_a_file_of_another_level_gets_one_line_naming_that_level(seeded: str, tmp_path: Path) -> None:
    """A district file given --level village: one sentence with the fix, not one line per feature."""
    path = geojson(tmp_path / "d.geojson", [square(f"34.71.{i:02d}", x=110.0 + i / 10) for i in range(1, 6)])
    code, output = perisai(seeded, "import", "boundaries", str(path), "--level", "village")
    assert code != 0 and "holds district codes (like 34.71.01), not village codes" in output
    assert "--level district" in output and output.count("34.71.0") == 1 and "Traceback" not in output


def test_out_of_range_coordinates(seeded: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1002", x=210.0)])
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village"),
                    "feature #1 (code 34.71.01.1002)", "out of range")


def test_swapped_coordinates(seeded: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1002", x=-7.80, y=110.40)])
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village"),
                    "34.71.01.1002", "look swapped")


def test_duplicate_codes(seeded: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1002"), square("34.71.01.1003"), square("34.71.01.1002")])
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village"),
                    "code 34.71.01.1002", "appears 2 times (features #1, #3)")


def test_non_polygon_geometry(seeded: str, tmp_path: Path) -> None:
    feature = {"type": "Feature", "properties": {"code": "34.71.01.1002", "name": "Titik"},
               "geometry": {"type": "Point", "coordinates": [110.4, -7.8]}}
    path = geojson(tmp_path / "v.geojson", [feature])
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village"), "boundaries must be polygons")


def test_missing_code_field(seeded: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "v.geojson", [square("34.71.01.1002")])
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village", "--code-field", "kode"),
                    "has no field 'kode'", "Its fields are: code, name")


def test_failure_late_in_the_transaction_writes_nothing(seeded: str, tmp_path: Path) -> None:
    """A parent field contradicting the code is caught, and nothing of the good features lands."""
    features = [square("34.71.01.1002"), square("34.71.01.1003")]
    features[1]["properties"]["district"] = "34.71.02"
    features[0]["properties"]["district"] = "34.71.01"
    path = geojson(tmp_path / "v.geojson", features)
    assert_rejected(seeded, ("import", "boundaries", str(path), "--level", "village", "--parent-field", "district"),
                    "disagrees with the code")
