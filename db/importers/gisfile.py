"""Read a GIS file of administrative boundaries and check it before anything touches the database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from pyogrio.raw import read as read_raw

from db.errors import ImportRejected, Problem
from db.regions import LEVELS, Level, parent_code
from geo.extent import INDONESIA, BBox, coordinate_problem
from geo.transform import is_wgs84, to_wgs84

SUPPORTED = "GeoJSON (.geojson, .geojson.gz), GeoPackage (.gpkg), Shapefile (.shp) or FlatGeobuf (.fgb)"
POLYGONAL = {shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON}


@dataclass(frozen=True)
class BoundaryFile:
    """The checked content of a boundary file: one entry per feature, in file order."""

    path: Path
    level: Level
    codes: list[str]
    names: list[str | None]
    wkb: list[bytes | None]  # 2D, WGS84 longitude/latitude
    source_crs: str | None
    # Names of the regions above, from optional `district_name`, `regency_name`, `province_name`
    # fields (a village file often has them): level -> code -> name.
    ancestor_names: dict[Level, dict[str, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.codes)


def read_boundary_file(
    path: Path,
    level: Level,
    *,
    code_field: str = "code",
    name_field: str = "name",
    parent_field: str | None = None,
    layer: str | None = None,
) -> BoundaryFile:
    """Read and check `path`; raise ImportRejected naming every bad feature."""
    source = _gdal_path(path)
    fields = [code_field, name_field] + ([parent_field] if parent_field else [])
    optional = [f"{ancestor.value}_name" for ancestor in LEVELS[: LEVELS.index(level)]]
    meta, wkb, columns, extra = _read(source, path, fields, optional, layer)
    crs = meta.get("crs")
    crs = str(crs) if crs is not None else None
    geoms = shapely.from_wkb(wkb, on_invalid="fix")
    if crs is not None and not is_wgs84(crs):
        geoms = to_wgs84(geoms, crs)
        wkb = shapely.to_wkb(geoms, output_dimension=2)
    codes = [_text(v) for v in columns[0]]
    names = [_text(v) for v in columns[1]]
    parents = [_text(v) for v in columns[2]] if parent_field else None
    _refuse_other_level(path, level, codes)
    problems = _check(level, codes, names, parents, geoms, code_field, parent_field)
    ancestors: dict[Level, dict[str, str]] = {}
    for column, values in extra.items():
        ancestor = Level(column.removesuffix("_name"))
        ancestors[ancestor] = _ancestor_names(ancestor, codes, [_text(v) for v in values], column, problems)
    if problems:
        raise ImportRejected(f"{path} has {len(problems)} problem(s) and was not imported:", problems)
    return BoundaryFile(
        path, level, [str(c) for c in codes], names, list(wkb), None if is_wgs84(crs) else crs, ancestors
    )


def _ancestor_names(
    ancestor: Level, codes: list[str | None], names: list[str | None], column: str, problems: list[Problem]
) -> dict[str, str]:
    """code -> name of the `ancestor` regions the features lie in; one name per region."""
    width = len(ancestor.example)
    found: dict[str, tuple[str, int]] = {}
    for i, (code, name) in enumerate(zip(codes, names, strict=True)):
        if not code or not name:
            continue
        key = code[:width]
        if key in found and found[key][0] != name:
            problems.append(Problem(_where(i, code, name), column, f"names {ancestor.value} {key} {name!r}, but feature "
                                    f"#{found[key][1] + 1} names it {found[key][0]!r}; use one name per {ancestor.value}"))
        found.setdefault(key, (name, i))
    return {key: name for key, (name, _) in found.items()}


def _gdal_path(path: Path) -> str:
    if not path.exists():
        raise ImportRejected(f"File not found: {path}. Check the path and try again.")
    if path.is_dir() and not path.suffix:
        raise ImportRejected(f"{path} is a directory; give the boundary file itself ({SUPPORTED}).")
    return f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)


def _read(
    source: str, path: Path, fields: list[str], optional: list[str], layer: str | None
) -> tuple[dict[str, object], np.ndarray, list[np.ndarray], dict[str, np.ndarray]]:
    """Metadata, geometries (WKB), the `fields` in order and those of `optional` the file has."""
    try:
        info = pyogrio.read_info(source, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ImportRejected(
            f"{path} is not a GIS file that can be read ({SUPPORTED}); "
            f"GDAL says: {str(exc).split(';')[0].rstrip('.')}."
        ) from None
    if info.get("geometry_type") in (None, "None"):
        raise ImportRejected(f"{path} has no geometries; boundaries must be a {SUPPORTED} of polygons.")
    available = list(info["fields"])
    missing = [f for f in fields if f not in available]
    if missing:
        raise ImportRejected(
            f"{path} has no field {', '.join(map(repr, missing))}. Its fields are: "
            f"{', '.join(available) or '(none)'}. Name the right ones with --code-field / "
            "--name-field / --parent-field."
        )
    present = [f for f in optional if f in available and f not in fields]
    meta, _fids, wkb, columns = read_raw(source, layer=layer, columns=fields + present, force_2d=True)
    read = list(meta["fields"])
    return meta, wkb, [columns[read.index(f)] for f in fields], {f: columns[read.index(f)] for f in present}


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _where(index: int, code: str | None, name: str | None) -> str:
    label = f"code {code}" if code else (f"name {name!r}" if name else "no code or name")
    return f"feature #{index + 1} ({label})"


def _check(
    level: Level,
    codes: list[str | None],
    names: list[str | None],
    parents: list[str | None] | None,
    geoms: np.ndarray,
    code_field: str,
    parent_field: str | None,
) -> list[Problem]:
    problems: list[Problem] = []
    bounds = shapely.bounds(geoms)
    inside = (
        (bounds[:, 0] >= INDONESIA.min_lng) & (bounds[:, 2] <= INDONESIA.max_lng)
        & (bounds[:, 1] >= INDONESIA.min_lat) & (bounds[:, 3] <= INDONESIA.max_lat)
    )
    types = shapely.get_type_id(geoms)
    for i, code in enumerate(codes):
        where = _where(i, code, names[i])
        if code is None:
            problems.append(Problem(where, code_field, "has no code; every region needs its Kemendagri code"))
        elif not level.pattern.fullmatch(code):
            problems.append(Problem(
                where, code_field, f"{code!r} is not a {level.value} code like {level.example}"
            ))
        elif parents is not None and parents[i] != parent_code(code):
            problems.append(Problem(
                where, parent_field,
                f"parent {parents[i]!r} disagrees with the code, whose parent is {parent_code(code)}",
            ))
        geom = geoms[i]
        if geom is None or shapely.is_empty(geom):
            continue
        if types[i] not in POLYGONAL and not _has_polygon(geom):
            problems.append(Problem(where, "geometry", f"is a {geom.geom_type}; boundaries must be polygons"))
        elif not inside[i] and (reason := coordinate_problem(BBox(*bounds[i]))):
            problems.append(Problem(where, "geometry", reason))
    duplicates = [code for code, n in Counter(c for c in codes if c).items() if n > 1]
    for code in duplicates:
        rows = [str(i + 1) for i, c in enumerate(codes) if c == code]
        problems.append(Problem(
            f"code {code}", code_field, f"appears {len(rows)} times (features #{', #'.join(rows)})"
        ))
    return problems


def _refuse_other_level(path: Path, level: Level, codes: list[str | None]) -> None:
    """A file whose every code belongs to one other level was given the wrong level: say which,
    once, instead of one identical problem per feature."""
    given = [c for c in codes if c]
    levels = {Level.of_code(c) for c in given}
    if given and len(levels) == 1 and (other := levels.pop()) not in (None, level):
        raise ImportRejected(f"{path} holds {other.value} codes (like {given[0]}), not {level.value} codes: "
                             f"import it as level {other.value} (--level {other.value}).")


def _has_polygon(geom: shapely.Geometry) -> bool:
    if shapely.get_type_id(geom) != shapely.GeometryType.GEOMETRYCOLLECTION:
        return False
    return any(shapely.get_type_id(part) in POLYGONAL for part in geom.geoms)
