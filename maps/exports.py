"""Coverage exports for planners: village coverage, gaps with reasons and agent workload as CSV,
XLSX (openpyxl, write-only), GeoJSON or GeoPackage (pyogrio), written batch by batch from a
server-side cursor (db/queries/exports.py), so a national export runs in constant memory.

Spreadsheet cells that begin with `=`, `+`, `-`, `@`, a tab or a carriage return are prefixed with
an apostrophe (OWASP's advice against formula injection): a village name cannot become a formula
in Excel or LibreOffice. `GET /exports/{kind}.{format}?regionCode=…` serves them with the API's
sign-in and scoping; `exportCoverage` in GraphQL gives a short-lived link, `perisai export` a file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from openpyxl import Workbook
from pyogrio.raw import write
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from db.access import Viewer, analyses
from db.queries.exports import EXPORTS, export_rows
from db.regions import Level
from maps.access import Refusal, analyst

FORMATS = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "gpkg": "application/geopackage+sqlite3"}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """A value safe in a spreadsheet cell: text that a spreadsheet would read as a formula is quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


async def _batches(engine: AsyncEngine, kind: str, region: str | None, viewer: Viewer) -> AsyncIterator[list[tuple[object, ...]]]:
    async with engine.connect() as connection:
        async for batch in export_rows(connection, kind, region, viewer):
            yield batch


async def csv_chunks(engine: AsyncEngine, kind: str, region: str | None, viewer: Viewer,
                     counted: list[int] | None = None) -> AsyncIterator[bytes]:
    names = [name for name, _ in EXPORTS[kind].columns]
    buffer = io.StringIO()
    csv.writer(buffer).writerow(names)
    yield ("\ufeff" + buffer.getvalue()).encode()  # a BOM: Excel then reads the file as UTF-8
    async for batch in _batches(engine, kind, region, viewer):
        buffer = io.StringIO()
        csv.writer(buffer).writerows([cell(v) for v in row[:len(names)]] for row in batch)
        if counted is not None:
            counted.append(len(batch))
        yield buffer.getvalue().encode()


async def geojson_chunks(engine: AsyncEngine, kind: str, region: str | None, viewer: Viewer,
                         counted: list[int] | None = None) -> AsyncIterator[bytes]:
    names = [name for name, _ in EXPORTS[kind].columns]
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for batch in _batches(engine, kind, region, viewer):
        parts = []
        for row in batch:
            geometry = shapely.to_geojson(shapely.from_wkb(row[-1])) if row[-1] is not None else "null"
            properties = orjson.dumps(dict(zip(names, row[:len(names)], strict=True))).decode()
            parts.append(f'{{"type":"Feature","geometry":{geometry},"properties":{properties}}}')
        if counted is not None:
            counted.append(len(batch))
        if parts:
            yield (("" if first else ",") + ",".join(parts)).encode()
            first = False
    yield b"]}"


async def write_file(engine: AsyncEngine, kind: str, region: str | None, viewer: Viewer, fmt: str, path: Path) -> int:
    """Write the export to `path`; how many rows it has."""
    counted: list[int] = []
    if fmt in ("csv", "geojson"):
        chunks = csv_chunks if fmt == "csv" else geojson_chunks
        with path.open("wb") as out:
            async for chunk in chunks(engine, kind, region, viewer, counted):
                out.write(chunk)
        return sum(counted)
    spec = EXPORTS[kind]
    names = [name for name, _ in spec.columns]
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet(kind)
        sheet.append(names)
        async for batch in _batches(engine, kind, region, viewer):
            for row in batch:
                sheet.append([cell(v) for v in row[:len(names)]])
            counted.append(len(batch))
        book.save(path)
        return sum(counted)
    async for batch in _batches(engine, kind, region, viewer):
        _write_gpkg(path, kind, batch, append=bool(counted))
        counted.append(len(batch))
    if not counted:  # an empty layer still opens, with its columns
        _write_gpkg(path, kind, [], append=False)
    return sum(counted)


def _write_gpkg(path: Path, kind: str, batch: list[tuple[object, ...]], append: bool) -> None:
    spec = EXPORTS[kind]
    columns = [_column(batch, i, kind_of) for i, (_, kind_of) in enumerate(spec.columns)]
    write(str(path), geometry=np.array([r[-1] for r in batch], dtype=object), field_data=[c for c, _ in columns],
          field_mask=[m for _, m in columns], fields=[name for name, _ in spec.columns], layer=kind, driver="GPKG",
          geometry_type=spec.geometry, crs="EPSG:4326", append=append)


def _column(batch: list[tuple[object, ...]], i: int, kind_of: type) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A column's values with the type GeoPackage should store, and where they are null."""
    values = [row[i] for row in batch]
    missing = np.array([v is None for v in values], dtype=bool)
    if kind_of is str:
        return np.array(["" if v is None else str(v) for v in values], dtype=object), missing
    dtype = np.float64 if kind_of is float else np.int64
    return np.array([0 if v is None else v for v in values], dtype=dtype), missing


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _region(request: Request, viewer: Viewer) -> str | None:
    region = request.query_params.get("regionCode")
    if region is not None and Level.of_code(region) in (None, Level.VILLAGE):
        raise ExportRefused(400, "BAD_USER_INPUT", f"regionCode: {region!r} is not a province, regency or district code")
    if not analyses(viewer, region):
        scope = ", ".join(viewer.scope) or "none"
        raise ExportRefused(403, "FORBIDDEN", f"regionCode: give a region inside your scope ({scope})")
    return region


class ExportRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.response = _refusal(status, code, message)


async def export_endpoint(request: Request) -> Response:
    kind, fmt = str(request.path_params["kind"]), str(request.path_params["format"])
    try:
        if kind not in EXPORTS or fmt not in FORMATS:
            raise ExportRefused(404, "NOT_FOUND", f"exports are /exports/{{{'|'.join(EXPORTS)}}}.{{{'|'.join(FORMATS)}}}")
        try:
            viewer, _ = await analyst(request, "exports")
        except Refusal as refused:
            raise ExportRefused(refused.status, refused.code, str(refused)) from refused
        region = _region(request, viewer)
    except ExportRefused as refused:
        return refused.response
    engine = request.app.state.engine
    name = f"perisai-{kind}-{region or 'indonesia'}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    if fmt in ("csv", "geojson"):
        chunks = csv_chunks if fmt == "csv" else geojson_chunks
        return StreamingResponse(chunks(engine, kind, region, viewer), media_type=FORMATS[fmt], headers=headers)
    folder = tempfile.mkdtemp(prefix="perisai-export-")
    path = Path(folder) / name
    await write_file(engine, kind, region, viewer, fmt, path)
    return FileResponse(path, media_type=FORMATS[fmt], headers=headers,
                        background=BackgroundTask(_remove, path))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.rmdir(path.parent)


def export_routes() -> list[Route]:
    return [Route("/exports/{kind}.{format}", export_endpoint)]
