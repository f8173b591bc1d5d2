"""CSV imports of agents, estimates and enrollments: good files, re-imports, and every bad row kind."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
import shapely
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import assert_rejected as rejected
from tests.conftest import fetch, table_counts
from tests.oracle import OAgent, OVillage, reach_pairs

runner = CliRunner()
KEY = "unit-test-nik-key"
AGENTS = """code,name,phone,home_village_code,lng,lat,reach_m,status,joined_on
T-1,Siti Rahayu,+62812345678,{v1},{lng},{lat},5000,active,2023-01-05
T-2,Budi Santoso,,{v2},{lng},{lat},,inactive,
"""
ENROLLMENTS = """nik,name,occupation,village_code,agent_code,programmes,monthly_contribution_idr,enrolled_on,status,last_paid_on
3471015708900001,Ani Lestari,trader,{v1},T-1,JKK;JKM,16800,2024-02-01,active,2024-10-01
3471011203850002,Joko Wibowo,driver,{v2},T-1,JKK;JKM;JHT,36800,2024-03-01,,
"""


def perisai(url: str, *args: str) -> tuple[int, str]:
    env = {"DATABASE_URL": url, "PERISAI_NIK_KEY": KEY}
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def places(demo_db: str) -> dict[str, str]:
    rows = fetch(demo_db, "SELECT code, ST_X(label_point) AS lng, ST_Y(label_point) AS lat FROM village ORDER BY code LIMIT 2")
    return {"v1": rows[0]["code"], "v2": rows[1]["code"], "lng": str(rows[0]["lng"]), "lat": str(rows[0]["lat"])}


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_agents_import_and_reimport(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "agents.csv", AGENTS.format(**places))
    code, output = perisai(demo_db, "import", "agents", str(path))
    assert code == 0, output
    assert "2 agents: 2 new" in output
    rows = fetch(demo_db, "SELECT code, reach_m, status::text, ST_X(location) AS lng, phone FROM agent WHERE code LIKE 'T-%' ORDER BY code")
    assert [(r["code"], r["reach_m"], r["status"]) for r in rows] == [("T-1", 5000, "active"), ("T-2", 5000, "inactive")]
    assert rows[0]["lng"] == pytest.approx(float(places["lng"]))
    assert perisai(demo_db, "import", "agents", str(path))[1].count("2 unchanged") == 1


def test_estimates_import(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", f"village_code,population,informal_workers,source,year\n"
                                     f"{places['v1']},12000,3000,BPS Podes 2024,2024\n{places['v2']},,2500,BPS Podes 2024,2024\n")
    code, output = perisai(demo_db, "import", "estimates", str(path))
    assert code == 0, output
    rows = fetch(demo_db, "SELECT population, informal_workers, estimate_source, estimate_year FROM village "
                          "WHERE code = ANY($1) ORDER BY code", [places["v1"], places["v2"]])
    assert [tuple(r) for r in rows] == [(12000, 3000, "BPS Podes 2024", 2024), (None, 2500, "BPS Podes 2024", 2024)]


def test_enrollments_store_only_hash_and_last4(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    assert perisai(demo_db, "import", "agents", str(write(tmp_path, "a.csv", AGENTS.format(**places))))[0] == 0
    path = write(tmp_path, "en.csv", ENROLLMENTS.format(**places))
    code, output = perisai(demo_db, "import", "enrollments", str(path))
    assert code == 0, output
    expected = hmac.new(KEY.encode(), b"3471015708900001", hashlib.sha256).digest()
    rows = fetch(demo_db, "SELECT p.name, p.nik_last4, e.programmes::text[] AS programmes, e.status::text "
                          "FROM participant p JOIN enrollment e ON e.participant_id = p.id WHERE p.nik_hash = $1", expected)
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["nik_last4"]) == ("Ani Lestari", "0001")
    assert row["programmes"] == ["JKK", "JKM"]
    # the plain NIK is nowhere in the participant table
    dump = fetch(demo_db, "SELECT string_agg(p::text, '|') FROM participant p")[0][0]
    assert "3471015708900001" not in dump
    code, output = perisai(demo_db, "import", "enrollments", str(path))
    assert "2 enrollments: 0 new, 0 updated, 2 unchanged" in output


def snapshot(url: str) -> tuple[dict[str, int], int]:
    """Row counts, plus villages carrying an imported (BPS) estimate: estimates update rows."""
    return table_counts(url), fetch(url, "SELECT count(*) FROM village WHERE estimate_source LIKE 'BPS%'")[0][0]


def assert_rejected(url: str, args: list[str], *fragments: str) -> None:
    rejected(perisai, url, args, *fragments, snapshot=snapshot)


@pytest.mark.parametrize("row,fragments", [
    ("T-9,Nama,,{v1},abc,{lat},,,", ["row 2", "lng", "is not a number"]),
    ("T-9,Nama,,{v1},{lat},{lng},,,", ["row 2", "look swapped"]),
    ("T-9,,,{v1},{lng},{lat},,,", ["row 2", "name: is empty"]),
    ("T-9,Nama,,{v1},{lng},{lat},60000,,", ["row 2", "reach_m", "between 1 and 50,000"]),
    ("T-9,Nama,,{v1},{lng},{lat},,sleeping,", ["row 2", "status", "one of active, inactive"]),
    ("T-9,Nama,,{v1},{lng},{lat},,,2999-01-01", ["row 2", "joined_on", "in the future"]),
    ("T-9,Nama,,34.71.01,{lng},{lat},,,", ["row 2", "home_village_code", "not a village code"]),
    ("T-9,Nama,,99.98.98.9998,{lng},{lat},,,", ["row 2", "no village with code '99.98.98.9998'"]),
])
def test_bad_agent_rows(demo_db: str, places: dict[str, str], tmp_path: Path, row: str, fragments: list[str]) -> None:
    header = "code,name,phone,home_village_code,lng,lat,reach_m,status,joined_on\n"
    good = "T-8,Baik,,{v1},{lng},{lat},,,\n"
    path = write(tmp_path, "a.csv", (header + row + "\n" + good).format(**places))
    assert_rejected(demo_db, ["import", "agents", str(path)], *fragments)


def test_duplicate_agent_codes(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    body = "code,name,home_village_code,lng,lat\nT-1,A,{v1},{lng},{lat}\nT-1,B,{v1},{lng},{lat}\n"
    assert_rejected(demo_db, ["import", "agents", str(write(tmp_path, "a.csv", body.format(**places)))],
                    "row 3", "repeats row 2")


def test_missing_columns_and_non_csv(demo_db: str, tmp_path: Path) -> None:
    assert_rejected(demo_db, ["import", "agents", str(write(tmp_path, "a.csv", "code,name\nX,Y\n"))],
                    "lacks the column(s) home_village_code, lng, lat")
    binary = tmp_path / "a.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    assert_rejected(demo_db, ["import", "agents", str(binary)], "not a UTF-8 text CSV")
    assert_rejected(demo_db, ["import", "agents", str(tmp_path / "absent.csv")], "File not found")


@pytest.mark.parametrize("row,fragments", [
    ("12345,Ani,,{v1},T-1,JKK,16800,2024-02-01,,", ["row 2", "nik", "16 digits"]),
    ("9971015708900001,Ani,,{v1},T-1,JKK,16800,2024-02-01,,", ["row 2", "not an Indonesian province code"]),
    ("3471013213900001,Ani,,{v1},T-1,JKK,16800,2024-02-01,,", ["row 2", "not a date"]),
    ("3471015708900001,Ani,,{v1},T-1,JKX,16800,2024-02-01,,", ["row 2", "unknown programme JKX"]),
    ("3471015708900001,Ani,,{v1},T-1,JKK,500,2024-02-01,,", ["row 2", "monthly_contribution_idr", "between 10,000"]),
    ("3471015708900001,Ani,,{v1},T-1,JKK,16800,2024-02-01,,2023-01-01", ["row 2", "last_paid_on", "before enrolled_on"]),
    ("3471015708900001,Ani,,{v1},NOPE,JKK,16800,2024-02-01,,", ["row 2", "no agent with code 'NOPE'"]),
])
def test_bad_enrollment_rows(demo_db: str, places: dict[str, str], tmp_path: Path, row: str, fragments: list[str]) -> None:
    assert perisai(demo_db, "import", "agents", str(write(tmp_path, "a.csv", AGENTS.format(**places))))[0] == 0
    header = ENROLLMENTS.splitlines()[0] + "\n"
    path = write(tmp_path, "e.csv", (header + row + "\n").format(**places))
    assert_rejected(demo_db, ["import", "enrollments", str(path)], *fragments)


def test_second_active_enrollment_is_refused(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    assert perisai(demo_db, "import", "agents", str(write(tmp_path, "a.csv", AGENTS.format(**places))))[0] == 0
    assert perisai(demo_db, "import", "enrollments", str(write(tmp_path, "e.csv", ENROLLMENTS.format(**places))))[0] == 0
    header = ENROLLMENTS.splitlines()[0] + "\n"
    again = header + "3471015708900001,Ani Lestari,trader,{v1},T-2,JKK;JKM,16800,2024-06-01,active,\n"
    assert_rejected(demo_db, ["import", "enrollments", str(write(tmp_path, "e2.csv", again.format(**places)))],
                    "row 2", "already has active enrollment")
    in_file = header + ("3471011203850009,X,,{v1},T-1,JKK,16800,2024-06-01,,\n"
                        "3471011203850009,X,,{v1},T-1,JKK,16800,2024-07-01,,\n")
    assert_rejected(demo_db, ["import", "enrollments", str(write(tmp_path, "e3.csv", in_file.format(**places)))],
                    "row 3", "a second active enrollment")


def test_bad_estimate_rows(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    body = ("village_code,population,informal_workers,source,year\n"
            "{v1},100,300,BPS,2024\n{v2},,,BPS,2024\n{v1},10,1,,2024\n99.98.98.9998,10,1,BPS,2024\n")
    assert_rejected(demo_db, ["import", "estimates", str(write(tmp_path, "e.csv", body.format(**places)))],
                    "row 2, informal_workers: is larger than the population", "row 3", "give at least one",
                    "row 4, source: is empty")


def _inside_and_outside(url: str, code: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """A point inside the village other than its label point, and one ~1 km outside it."""
    geom = shapely.from_wkb(bytes(fetch(url, "SELECT ST_AsBinary(geom) AS g FROM village WHERE code = $1", code)[0]["g"]))
    label = geom.representative_point()
    inside = shapely.get_point(geom.buffer(-0.0005).exterior if geom.geom_type == "Polygon"
                               else max(geom.geoms, key=lambda p: p.area).buffer(-0.0005).exterior, 0)
    assert geom.contains(inside) and not inside.equals(label)
    outside = shapely.get_point(geom.buffer(0.01).exterior, 0)
    return (inside.x, inside.y), (outside.x, outside.y)


def test_label_points_import_moves_coverage_with_them(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    code = places["v1"]
    (lng, lat), _ = _inside_and_outside(demo_db, code)
    path = write(tmp_path, "labels.csv", f"village_code,lng,lat\n{code},{lng},{lat}\n")
    status, output = perisai(demo_db, "import", "labels", str(path))
    assert status == 0 and "1 village label points: 0 new, 1 updated" in output, output
    row = fetch(demo_db, "SELECT ST_X(label_point) AS x, ST_Y(label_point) AS y FROM village WHERE code = $1", code)[0]
    assert (row["x"], row["y"]) == pytest.approx((lng, lat))
    agents = [OAgent(r["id"], r["x"], r["y"], r["reach_m"], True) for r in fetch(
        demo_db, "SELECT id, ST_X(location) x, ST_Y(location) y, reach_m FROM agent")]
    expected = reach_pairs([OVillage(code, lng, lat, 0, 0)], agents)
    got = {(r["agent_id"], r["village_code"]) for r in fetch(
        demo_db, "SELECT agent_id, village_code FROM agent_reach WHERE village_code = $1", code)}
    assert got == set(expected) and got
    assert "1 unchanged" in perisai(demo_db, "import", "labels", str(path))[1]


def test_bad_label_rows(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    (lng, lat), (out_lng, out_lat) = _inside_and_outside(demo_db, places["v1"])
    body = (f"village_code,lng,lat\n{places['v1']},{lat},{lng}\n{places['v2']},east,{lat}\n"
            f"{places['v2']},{lng},{lat}\n{places['v2']},{lng},{lat}\n")
    rejected(perisai, demo_db, ["import", "labels", str(write(tmp_path, "l.csv", body))],
             "row 2, lng/lat: coordinates look swapped", "row 3, lng: 'east': is not a number", "row 5, village_code")
    unknown = f"village_code,lng,lat\n99.98.98.9998,{lng},{lat}\n"
    rejected(perisai, demo_db, ["import", "labels", str(write(tmp_path, "u.csv", unknown))],
             "row 2", "no village with code '99.98.98.9998'")
    outside = f"village_code,lng,lat\n{places['v1']},{out_lng},{out_lat}\n"
    snapshot = lambda url: fetch(url, "SELECT code, ST_AsText(label_point) FROM village ORDER BY code")  # noqa: E731
    rejected(perisai, demo_db, ["import", "labels", str(write(tmp_path, "o.csv", outside))],
             "row 2, lng/lat: is", f"m outside village {places['v1']}", snapshot=snapshot)


def test_a_semicolon_file_with_decimal_commas_imports_as_meant(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    """What Excel saves in an Indonesian locale: `;` between cells, `,` in numbers."""
    lng, lat = f"{float(places['lng']):.6f}", f"{float(places['lat']):.6f}"
    body = (f"code;name;home_village_code;lng;lat;reach_m\n"
            f"T-9;Siti Rahayu;{places['v1']};{lng.replace('.', ',')};{lat.replace('.', ',')};5000\n")
    code, output = perisai(demo_db, "import", "agents", str(write(tmp_path, "agents.csv", body)))
    assert code == 0, output
    row = fetch(demo_db, "SELECT ST_X(location) AS lng, ST_Y(location) AS lat FROM agent WHERE code = 'T-9'")[0]
    assert (row["lng"], row["lat"]) == (pytest.approx(float(lng)), pytest.approx(float(lat)))


def test_a_missing_column_says_how_the_header_was_read(demo_db: str, tmp_path: Path) -> None:
    assert_rejected(demo_db, ["import", "agents", str(write(tmp_path, "a.csv", "code;name\nX;Y\n"))],
                    "lacks the column(s) home_village_code, lng, lat", "read as semicolon-separated", "code, name")


def test_every_problem_of_a_file_in_one_run(demo_db: str, places: dict[str, str], tmp_path: Path) -> None:
    """Bad cells, a repeated code, coordinates outside Indonesia and an unknown village: four kinds,
    found by three different checks (cells, the file as a whole, the database), listed together."""
    body = ("code,name,home_village_code,lng,lat,reach_m\n"
            "T-1,Ani,{v1},{lng},{lat},5000\n"
            "T-2,Budi,{v1},{lng},{lat},lima ribu\n"  # a cell that is not a number
            "T-1,Citra,{v1},{lng},{lat},5000\n"  # repeats T-1
            "T-4,Dewi,{v1},10.0,50.0,5000\n"  # outside Indonesia
            "T-5,Eka,99.99.99.9999,{lng},{lat},5000\n")  # no such village
    assert_rejected(demo_db, ["import", "agents", str(write(tmp_path, "a.csv", body.format(**places)))],
                    "4 problem(s)", "row 3", "reach_m", "row 4", "repeats row 2", "row 5", "lng/lat",
                    "row 6", "no village with code '99.99.99.9999'")
