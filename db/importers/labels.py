"""Import official village label points from CSV: village_code, lng, lat.

A boundary import places each label point with ST_PointOnSurface. Statistics offices publish their
own (the village office or centre), which is where planners expect a village to be, and coverage
is measured to it. A point must lie inside or on its village's polygon, or an agent across the
border would count as reaching the village; a village without a polygon takes the point as given.
Re-importing boundaries that change a polygon resets its point; import the labels again after.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.errors import ImportRejected, Problem
from db.importers.bulk import Progress, copy_to_staging, no_progress
from db.importers.csvfile import Column, number, read_csv, region_code
from db.importers.tables import TableImport, refuse, unique_located_rows, unknown
from db.regions import Level

LABEL_COLUMNS = [
    Column("village_code", region_code(Level.VILLAGE)),
    Column("lng", number()),  # ranges are checked together, so swapped columns get their own message
    Column("lat", number()),
]
MAX_LISTED = 50  # outside points listed in one error; the count says how many in all


def read_labels(path: Path) -> list[dict[str, Any]]:
    return read_csv(path, LABEL_COLUMNS, _check_labels)


def _check_labels(rows: list[dict[str, Any]]) -> list[Problem]:
    return unique_located_rows(rows, "village_code")


async def load_labels(engine: AsyncEngine, rows: list[dict[str, Any]], progress: Progress = no_progress,
                      earlier: Sequence[Problem] = ()) -> TableImport:
    async with engine.begin() as conn:
        await copy_to_staging(conn, "label_stage", "n int, village_code text, lng float8, lat float8",
                              ("n", "village_code", "lng", "lat"),
                              ([r["_row"], r["village_code"], r["lng"], r["lat"]] for r in rows))
        progress("loading", len(rows), len(rows))
        refuse([*earlier, *await unknown(conn, "label_stage", "village_code", "village", "code")])
        outside = (await conn.execute(text(_OUTSIDE))).all()
        if outside:
            raise ImportRejected(f"{len(outside)} label points lie outside their village's boundary:", [
                Problem(f"row {r.n}", "lng/lat", f"is {r.distance_m:,.0f} m outside village {r.village_code}; "
                        "check the coordinates and the village code")
                for r in outside[:MAX_LISTED]
            ])
        updated = (await conn.execute(text(_UPDATE))).rowcount
    return TableImport("village label points", len(rows), 0, updated)


_POINT = "ST_SetSRID(ST_MakePoint(s.lng, s.lat), 4326)"
_OUTSIDE = f"""
SELECT s.n, s.village_code, ST_Distance(v.geom::geography, {_POINT}::geography) AS distance_m
FROM label_stage s JOIN village v ON v.code = s.village_code
WHERE v.geom IS NOT NULL AND NOT ST_Intersects(v.geom, {_POINT})
ORDER BY s.n
"""
_UPDATE = f"""
UPDATE village v SET label_point = {_POINT}
FROM label_stage s
WHERE v.code = s.village_code AND (v.label_point IS NULL OR NOT ST_Equals(v.label_point, {_POINT}))
"""
