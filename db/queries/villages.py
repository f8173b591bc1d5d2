"""Village lookups."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.records import VillageRecord

# 7 decimals is about 1 cm: enough for any boundary, and half the digits of a raw double.
_VILLAGES_BY_CODES = text("""
    SELECT code, name, district_code, ST_AsGeoJSON(geom, 7) AS geometry,
           ST_AsGeoJSON(label_point, 7) AS label_point, area_km2, population, informal_workers,
           estimate_source, estimate_year
    FROM village WHERE code = ANY(:codes)
""")


async def villages_by_codes(session: AsyncSession, codes: Sequence[str]) -> list[VillageRecord]:
    """Villages whose code is in `codes` (any order; unknown codes are simply absent)."""
    rows = (await session.execute(_VILLAGES_BY_CODES, {"codes": list(codes)})).all()
    return [
        VillageRecord(
            r.code, r.name, r.district_code, _json(r.geometry), _json(r.label_point), r.area_km2,
            r.population, r.informal_workers, r.estimate_source, r.estimate_year,
        )
        for r in rows
    ]


def _json(value: str | None) -> dict[str, object] | None:
    return orjson.loads(value) if value is not None else None
