"""Import administrative boundaries: repair, label, measure and upsert, in one transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.importers.bulk import Progress, chunks, copy_to_staging, no_progress
from db.importers.gisfile import BoundaryFile
from db.regions import LEVELS, PROVINCE_NAMES, Level

CHUNK = 2000

# Repair only what is invalid, and keep only polygonal parts. method=structure because the
# commonest defect in the real files is "nested shells": a small part of a MultiPolygon drawn
# inside another part of the same region. The default (linework) method would punch it out as a
# hole, losing that area; structure merges it into the part around it.
_PREPARE = """
INSERT INTO boundary_ready (n, code, name, had_geometry, was_valid, geom)
SELECT n, code, name, g IS NOT NULL, g IS NULL OR ST_IsValid(g),
       CASE WHEN g IS NULL THEN NULL
            ELSE NULLIF(ST_Multi(ST_CollectionExtract(
                   CASE WHEN ST_IsValid(g) THEN g ELSE ST_MakeValid(g, 'method=structure') END, 3)),
                 'MULTIPOLYGON EMPTY'::geometry) END
FROM (SELECT n, code, name, ST_SetSRID(ST_GeomFromWKB(wkb), 4326) AS g
      FROM boundary_stage WHERE n BETWEEN :lo AND :hi) s
"""

_STATS = """
SELECT count(*) FILTER (WHERE NOT was_valid) AS repaired,
       coalesce(array_agg(code ORDER BY n) FILTER (WHERE NOT was_valid), '{}') AS repaired_codes,
       coalesce(array_agg(code ORDER BY n) FILTER (WHERE NOT had_geometry), '{}') AS no_geometry,
       coalesce(array_agg(code ORDER BY n) FILTER (WHERE had_geometry AND geom IS NULL), '{}') AS emptied
FROM boundary_ready
"""


def _upsert_sql(level: Level) -> str:
    parent = level.parent_column
    parent_insert = f", {parent}" if parent else ""
    parent_select = f", left(code, {len(level.parent.example)})" if level.parent else ""
    return f"""
    INSERT INTO {level.table} AS t (code, name, geom, label_point, area_km2{parent_insert})
    SELECT code, name, geom, ST_PointOnSurface(geom), ST_Area(geom::geography) / 1e6{parent_select}
    FROM boundary_ready WHERE n BETWEEN :lo AND :hi
    ON CONFLICT (code) DO UPDATE SET
        name = coalesce(EXCLUDED.name, t.name), geom = EXCLUDED.geom,
        label_point = EXCLUDED.label_point, area_km2 = EXCLUDED.area_km2
    WHERE (coalesce(EXCLUDED.name, t.name), EXCLUDED.geom) IS DISTINCT FROM (t.name, t.geom)
    RETURNING (xmax = 0) AS inserted
    """


def _create_ancestors_sql(ancestor: Level) -> str:
    """Rows for `ancestor`-level regions that the staged rows' codes point into, named from
    :codes/:names (the file's `district_name`…, or the official province names) where known; an
    existing row without a name gets one. Returns each row touched and whether it is new."""
    parent = ancestor.parent_column
    columns = f"code, name{', ' + parent if parent else ''}"
    parent_value = f", left(code, {len(ancestor.parent.example)})" if ancestor.parent else ""
    return f"""
    INSERT INTO {ancestor.table} AS t ({columns})
    SELECT code, (SELECT n.name FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[])) AS n(code, name)
                  WHERE n.code = c.code){parent_value}
    FROM (SELECT DISTINCT left(code, {len(ancestor.example)}) AS code FROM boundary_ready) c
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name WHERE t.name IS NULL AND EXCLUDED.name IS NOT NULL
    RETURNING code, (xmax = 0) AS inserted
    """


@dataclass
class BoundaryImport:
    """What an import did, for the summary a planner reads."""

    level: Level
    features: int
    inserted: int = 0
    updated: int = 0
    repaired: list[str] = field(default_factory=list)
    without_geometry: list[str] = field(default_factory=list)
    emptied_by_repair: list[str] = field(default_factory=list)
    created_parents: dict[Level, list[str]] = field(default_factory=dict)
    named_parents: dict[Level, list[str]] = field(default_factory=dict)  # existing, nameless, named from the file
    reprojected_from: str | None = None
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        return self.features - self.inserted - self.updated

    def lines(self) -> list[str]:
        out = [
            f"{self.features} {self.level.value} features in {self.seconds:.1f} s: "
            f"{self.inserted} new, {self.updated} updated, {self.unchanged} unchanged.",
        ]
        if self.reprojected_from:
            out.append(f"Reprojected from {self.reprojected_from} to WGS84 (EPSG:4326).")
        out.append(
            f"Repaired {len(self.repaired)} invalid geometr{'y' if len(self.repaired) == 1 else 'ies'}"
            " (ST_MakeValid, polygonal parts kept)" + _examples(self.repaired) + "."
        )
        if self.without_geometry:
            out.append(f"{len(self.without_geometry)} feature(s) had no geometry and are stored "
                       f"without a boundary{_examples(self.without_geometry)}.")
        if self.emptied_by_repair:
            out.append(f"{len(self.emptied_by_repair)} geometr(ies) had no polygonal part left after "
                       f"repair and are stored without a boundary{_examples(self.emptied_by_repair)}.")
        provinces = self.created_parents.get(Level.PROVINCE, [])
        if provinces:
            out.append(f"Created {len(provinces)} province row(s) with their official names and no "
                       f"boundary, for parents missing from the database{_examples(provinces)}.")
        for level, codes in self.created_parents.items():
            if codes and level is not Level.PROVINCE:
                out.append(f"Created {len(codes)} {level.value} row(s) for parents missing from the database"
                           f"{_examples(codes)}, named from the file's {level.value}_name where it has one; "
                           f"their maps are framed by their villages. Import the {level.value} file for "
                           "their own boundaries.")
        for level, codes in self.named_parents.items():
            if codes:
                out.append(f"Named {len(codes)} {level.value} row(s) that had no name, from the file's "
                           f"{level.value}_name{_examples(codes)}.")
        return out


def _examples(codes: list[str], limit: int = 5) -> str:
    if not codes:
        return ""
    more = f", … {len(codes) - limit} more" if len(codes) > limit else ""
    return f": {', '.join(codes[:limit])}{more}"


async def import_boundaries(
    engine: AsyncEngine, data: BoundaryFile, progress: Progress = no_progress
) -> BoundaryImport:
    """Upsert every feature of `data` in one transaction; a failure writes nothing."""
    started = time.perf_counter()
    result = BoundaryImport(data.level, len(data), reprojected_from=data.source_crs)
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL client_min_messages = warning"))
        await _stage(conn, data, progress)
        stats = (await conn.execute(text(_STATS))).one()
        result.repaired = list(stats.repaired_codes)
        result.without_geometry = list(stats.no_geometry)
        result.emptied_by_repair = list(stats.emptied)
        for ancestor in LEVELS[: LEVELS.index(data.level)]:
            names = {**(PROVINCE_NAMES if ancestor is Level.PROVINCE else {}), **data.ancestor_names.get(ancestor, {})}
            rows = (await conn.execute(text(_create_ancestors_sql(ancestor)),
                                       {"codes": list(names), "names": list(names.values())})).all()
            result.created_parents[ancestor] = sorted(r.code for r in rows if r.inserted)
            result.named_parents[ancestor] = sorted(r.code for r in rows if not r.inserted)
        upsert = text(_upsert_sql(data.level))
        for lo, hi in chunks(len(data), CHUNK):
            inserted: Sequence[bool] = (await conn.execute(upsert, {"lo": lo, "hi": hi})).scalars().all()
            result.inserted += sum(inserted)
            result.updated += len(inserted) - sum(inserted)
            progress("saving", hi, len(data))
    result.seconds = time.perf_counter() - started
    return result


async def _stage(conn: AsyncConnection, data: BoundaryFile, progress: Progress) -> None:
    records = [(i + 1, data.codes[i], data.names[i], data.wkb[i]) for i in range(len(data))]
    await copy_to_staging(
        conn, "boundary_stage", "n int PRIMARY KEY, code text, name text, wkb bytea",
        ("n", "code", "name", "wkb"), records,
    )
    await conn.execute(text(
        "CREATE TEMP TABLE boundary_ready (n int PRIMARY KEY, code text, name text, "
        "had_geometry bool, was_valid bool, geom geometry(MultiPolygon, 4326)) ON COMMIT DROP"
    ))
    prepare = text(_PREPARE)
    for lo, hi in chunks(len(data), CHUNK):
        await conn.execute(prepare, {"lo": lo, "hi": hi})
        progress("repairing", hi, len(data))
