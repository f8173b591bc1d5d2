"""Coverage exports, downloaded through the link GraphQL gives and opened with the libraries a
planner's tools use (csv, openpyxl, pyogrio): the same rows and figures as GraphQL, formulas
neutralised, scoped, refused with a code; and the `perisai export` command."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pyogrio.raw
import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import JWT_SECRET, NIK_KEY, _clone, data, fetch, post, running_server, token

HOSTILE = ['=HYPERLINK("http://evil.example","klik")', "+62812", "-1+2", "@SUM(A1)", "\t=1+1"]


@pytest.fixture(scope="module")
def writable(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        codes = [r["code"] for r in fetch(url, "SELECT code FROM village WHERE code LIKE '99.01.01.%' ORDER BY code LIMIT 5")]
        for code, name in zip(codes, HOSTILE, strict=True):
            fetch(url, "UPDATE village SET name = $2 WHERE code = $1", code, name)
        with running_server(url, tmp_path_factory.mktemp("exports")) as server:
            yield url, server


def download(server: str, kind: str, fmt: str, region: str | None = "99.01", auth: str = "planner") -> httpx.Response:
    link = data(server, "query($r: String, $k: ExportKind!, $f: ExportFormat!) { exportCoverage(regionCode: $r, kind: $k, "
                "format: $f) }", {"r": region, "k": kind.upper(), "f": fmt.upper()}, auth=auth)["exportCoverage"]
    response = httpx.get(link, timeout=120)
    assert response.status_code == 200, response.text
    return response


def rows_of(content: bytes, fmt: str, tmp: Path) -> list[dict[str, Any]]:
    """The rows as the planner's tool reads them."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        header, *body = list(sheet.iter_rows(values_only=True))
        return [dict(zip(header, row, strict=True)) for row in body]
    path = tmp / f"export.{fmt}"
    path.write_bytes(content)
    meta, _, geometry, fields = pyogrio.raw.read(path)
    assert len(geometry) == len(fields[0]) if fields else True
    return [{name: column[i] for name, column in zip(meta["fields"], fields, strict=True)} for i in range(len(geometry))]


def _int(value: Any) -> int | None:
    return None if value in (None, "") or value != value else int(float(value))


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson", "gpkg"])
def test_village_exports_hold_what_graphql_gives(writable: tuple[str, str], fmt: str, tmp_path: Path) -> None:
    _, server = writable
    rows = rows_of(download(server, "villages", fmt).content, fmt, tmp_path)
    answer = data(server, """{ villages(filter: {regionCode: "99.01"}, first: 500) { totalCount edges { node { code
        informalWorkers coverage { agentCount activeEnrollments } } } } }""", auth="planner")["villages"]
    assert answer["totalCount"] < 500
    graphql = {e["node"]["code"]: e["node"] for e in answer["edges"]}
    assert [r["code"] for r in rows] == sorted(graphql)
    for r in rows:
        g = graphql[r["code"]]
        assert (_int(r["informal_workers"]), _int(r["active_enrollments"]), _int(r["agents"])) == (
            g["informalWorkers"], g["coverage"]["activeEnrollments"], g["coverage"]["agentCount"])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_spreadsheet_cells_never_become_formulas(writable: tuple[str, str], fmt: str, tmp_path: Path) -> None:
    _, server = writable
    content = download(server, "villages", fmt).content
    names = {r["name"] for r in rows_of(content, fmt, tmp_path)}
    assert {"'" + h for h in HOSTILE} <= names  # shown as text, with the apostrophe spreadsheets hide
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_gaps_and_workload_exports_follow_graphql_order(writable: tuple[str, str], tmp_path: Path) -> None:
    _, server = writable
    gaps = rows_of(download(server, "gaps", "csv").content, "csv", tmp_path)
    answer = data(server, '{ coverageGaps(regionCode: "99.01", first: 500) { edges { node { reasons village { code } } } } }',
                  auth="planner")["coverageGaps"]["edges"]
    assert [(g["code"], g["reasons"].split()) for g in gaps] == [(e["node"]["village"]["code"], e["node"]["reasons"]) for e in answer]
    workload = rows_of(download(server, "workload", "gpkg").content, "gpkg", tmp_path)
    ranked = data(server, '{ agentWorkload(regionCode: "99.01", first: 500) { edges { node { agent { code } } } } }',
                  auth="planner")["agentWorkload"]["edges"]
    assert [w["agent_code"] for w in workload] == [e["node"]["agent"]["code"] for e in ranked]


def test_exports_are_scoped_and_bad_requests_refused(writable: tuple[str, str]) -> None:
    _, server = writable
    manager = token("manager", "99.01.01")
    outside = post(server, '{ exportCoverage(regionCode: "99.01") }', auth=manager)
    assert outside["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    mine = rows_of(download(server, "villages", "csv", "99.01.01", manager).content, "csv", Path("."))
    assert mine and all(r["code"].startswith("99.01.01.") for r in mine)
    link = data(server, '{ exportCoverage(regionCode: "99.01.01") }', auth=manager)["exportCoverage"]
    assert httpx.get(link.replace("regionCode=99.01.01", "regionCode=99.01"), timeout=60).status_code == 403
    assert httpx.get(link.replace("villages.csv", "secrets.csv"), timeout=60).json()["error"]["code"] == "NOT_FOUND"
    assert httpx.get(link.replace("regionCode=99.01.01", "regionCode=99.01.01.2001"), timeout=60).status_code == 400
    agent = httpx.get(f"{server}/exports/villages.csv", headers={"authorization": f"Bearer {token('agent', agent='AG-000001')}"},
                      timeout=60)
    assert agent.status_code == 403 and agent.json()["error"]["code"] == "FORBIDDEN"


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PERISAI_JWT_SECRET": JWT_SECRET, "PERISAI_NIK_KEY": NIK_KEY.decode()}
    return subprocess.run([sys.executable, "-m", "cli.main", "export", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_export_command(writable: tuple[str, str], tmp_path: Path) -> None:
    url, _ = writable
    out = tmp_path / "gaps.gpkg"
    done = _cli(url, "gaps", "--region", "99.01", "--output", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    meta, _, geometry, _ = pyogrio.raw.read(out)
    assert len(geometry) > 0 and "reasons" in meta["fields"]
    again = _cli(url, "gaps", "--region", "99.01", "--output", str(out))
    assert again.returncode == 1 and "exists" in again.stdout + again.stderr and "Traceback" not in again.stderr
    bad = _cli(url, "gaps", "--output", str(tmp_path / "gaps.shp"))
    assert bad.returncode == 1 and "format" in bad.stdout + bad.stderr
