"""Regions framed by their villages: `villages_outline` of districts, regencies and provinces is the
union of the village boundaries below them, kept in step by the database when villages are added,
re-drawn, moved to another district or removed. Checked against Shapely's union of the same
village polygons, read back independently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import shapely
from shapely.geometry import shape

from tests.conftest import fetch, require_data

DISTRICT = "99.01.01"


SPECK = 1e-6  # square degrees: smaller holes (slivers between villages) are left out of outlines


def without_specks(geometry: shapely.Geometry) -> shapely.Geometry:
    polygons = [p for p in shapely.get_parts(shapely.get_parts(geometry)) if p.geom_type == "Polygon"]
    return shapely.MultiPolygon([shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= SPECK])
                                 for p in polygons])


def villages_union(url: str, prefix: str) -> shapely.Geometry | None:
    rows = fetch(url, "SELECT ST_AsGeoJSON(geom) g FROM village WHERE code LIKE $1 || '.%' AND geom IS NOT NULL", prefix)
    return without_specks(shapely.union_all([shape(json.loads(r["g"])) for r in rows])) if rows else None


def outline(url: str, table: str, code: str) -> shapely.Geometry | None:
    row = fetch(url, f"SELECT ST_AsGeoJSON(villages_outline) g FROM {table} WHERE code = $1", code)[0]
    return None if row["g"] is None else shape(json.loads(row["g"]))


def assert_same(url: str, table: str, code: str) -> None:
    expected, got = villages_union(url, code), outline(url, table, code)
    if expected is None:
        assert got is None, f"{table} {code} has no village boundary left but keeps an outline"
        return
    assert got is not None, f"{table} {code} has villages but no outline"
    assert got.symmetric_difference(expected).area <= 1e-9 * expected.area, f"{table} {code} differs from its villages"


def assert_all_same(url: str, district: str) -> None:
    for table, code in (("district", district), ("regency", district[:5]), ("province", district[:2])):
        assert_same(url, table, code)


def test_every_region_of_the_demo_is_the_union_of_its_villages(demo_db: str) -> None:
    districts = [r["code"] for r in fetch(demo_db, "SELECT code FROM district ORDER BY code")]
    assert districts
    for code in districts[:6]:
        assert_same(demo_db, "district", code)
    for r in fetch(demo_db, "SELECT code FROM regency"):
        assert_same(demo_db, "regency", r["code"])
    for p in fetch(demo_db, "SELECT code FROM province"):
        assert_same(demo_db, "province", p["code"])


def test_a_redrawn_village_reshapes_its_district_regency_and_province(demo_db: str) -> None:
    village = fetch(demo_db, "SELECT code FROM village WHERE district_code = $1 ORDER BY code LIMIT 1", DISTRICT)[0]["code"]
    before = outline(demo_db, "district", DISTRICT)
    fetch(demo_db, "UPDATE village SET geom = ST_Multi(ST_Translate(geom, 0.05, 0.05)) WHERE code = $1", village)
    assert outline(demo_db, "district", DISTRICT) != before
    assert_all_same(demo_db, DISTRICT)


def test_a_village_recoded_into_another_district_leaves_one_and_joins_the_other(demo_db: str) -> None:
    """A village's district is part of its code (a check constraint), so a move is a new code."""
    other = fetch(demo_db, "SELECT code FROM district WHERE regency_code <> $1 ORDER BY code LIMIT 1", DISTRICT[:5])[0]["code"]
    fetch(demo_db, """INSERT INTO village (code, name, district_code, geom, label_point)
        SELECT $1 || '.2998', 'Pindah', $1, ST_Multi(ST_Translate(geom, 0.3, 0.3)), ST_PointOnSurface(geom)
        FROM village WHERE district_code = $1 ORDER BY code LIMIT 1""", DISTRICT)
    assert_all_same(demo_db, DISTRICT)
    fetch(demo_db, "DELETE FROM agent_reach WHERE village_code = $1 || '.2998'", DISTRICT)  # reach follows the code
    fetch(demo_db, "UPDATE village SET code = $2 || '.2998', district_code = $2 WHERE code = $1 || '.2998'", DISTRICT, other)
    assert_all_same(demo_db, DISTRICT)
    assert_all_same(demo_db, other)


def test_new_and_removed_villages_are_followed_and_an_empty_district_has_no_outline(demo_db: str) -> None:
    fetch(demo_db, "INSERT INTO district (code, name, regency_code) VALUES ('99.01.77', 'Baru', '99.01')")
    assert outline(demo_db, "district", "99.01.77") is None
    fetch(demo_db, """INSERT INTO village (code, name, district_code, geom, label_point)
        SELECT '99.01.77.' || (2001 + row_number() OVER (ORDER BY code)), 'Baru', '99.01.77',
               ST_Multi(ST_Translate(geom, 0.4, 0)), ST_Translate(label_point, 0.4, 0)
        FROM village WHERE district_code = $1 ORDER BY code LIMIT 2""", DISTRICT)
    assert_all_same(demo_db, "99.01.77")
    fetch(demo_db, "DELETE FROM village WHERE code = '99.01.77.2002'")
    assert_all_same(demo_db, "99.01.77")
    fetch(demo_db, "DELETE FROM village WHERE district_code = '99.01.77'")
    assert outline(demo_db, "district", "99.01.77") is None
    assert_all_same(demo_db, "99.01.77")


def test_a_change_that_leaves_boundaries_alone_does_not_touch_the_regions(demo_db: str) -> None:
    """Renames and new estimates (the common updates) do not rewrite district rows."""
    before = fetch(demo_db, "SELECT xmin::text x FROM district WHERE code = $1", DISTRICT)[0]["x"]
    fetch(demo_db, "UPDATE village SET name = name || ' Baru', informal_workers = 10 WHERE district_code = $1", DISTRICT)
    assert fetch(demo_db, "SELECT xmin::text x FROM district WHERE code = $1", DISTRICT)[0]["x"] == before


def test_real_villages_leave_no_sliver_holes_in_their_district(empty_db: str, tmp_path: Path) -> None:
    """DIY's villages do not quite meet in places; the district outline keeps no sliver between them."""
    source = json.loads((require_data("diy_villages.geojson") / "diy_villages.geojson").read_text())
    source["features"] = [f for f in source["features"] if f["properties"]["code"].startswith("34.71.")]
    path = tmp_path / "kota.geojson"
    path.write_text(json.dumps(source))
    result = subprocess.run([sys.executable, "-m", "cli.main", "import", "boundaries", str(path), "--level", "village"],
                            env={**os.environ, "DATABASE_URL": empty_db}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    raw = shapely.union_all([shape(json.loads(r["g"])) for r in fetch(
        empty_db, "SELECT ST_AsGeoJSON(geom) g FROM village WHERE district_code = '34.71.01'")])
    slivers = [r for p in shapely.get_parts(raw) for r in getattr(p, "interiors", []) if shapely.Polygon(r).area < SPECK]
    assert slivers, "Tegalrejo's villages should leave sliver holes between them"
    got = outline(empty_db, "district", "34.71.01")
    assert got is not None and all(shapely.Polygon(r).area >= SPECK for p in shapely.get_parts(got) for r in p.interiors)
    assert_all_same(empty_db, "34.71.01")


def test_the_outline_a_map_above_draws_stays_within_its_tolerance(demo_db: str) -> None:
    """Provinces and regencies keep a simplified outline for the national and province maps: within
    the tolerance of the villages' union, with no part smaller than a pixel (tolerance²)."""
    for table, tolerance in (("regency", 0.001), ("province", 0.01)):
        for r in fetch(demo_db, f"SELECT code, ST_AsGeoJSON(map_outline) m FROM {table}"):
            drawn, whole = shape(json.loads(r["m"])), outline(demo_db, table, r["code"])
            assert whole is not None and drawn.hausdorff_distance(whole) <= 2 * tolerance, (table, r["code"])
            parts = list(shapely.get_parts(drawn))
            assert len(parts) == 1 or all(p.area >= tolerance**2 for p in parts)
            # The demo province is ~30 km across: at 0.01° a few % of its area moves; Hausdorff bounds the rest.
            assert drawn.symmetric_difference(whole).area <= 0.1 * whole.area
