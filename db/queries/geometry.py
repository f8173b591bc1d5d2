"""Region boundaries as GeoJSON text, simplified and rounded in PostGIS for light payloads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, region_visible
from db.models import District, Province, Regency, Village
from db.queries.paging import one_of
from db.regions import Level

MODELS = {Level.PROVINCE: Province, Level.REGENCY: Regency, Level.DISTRICT: District, Level.VILLAGE: Village}

# Metres per degree of latitude. A degree of longitude is cos(latitude) as long, at least 0.98 of
# this anywhere in Indonesia (|latitude| < 11.5°), so one degree tolerance serves both axes.
METRES_PER_DEGREE = 111_320.0


async def boundaries(
    session: AsyncSession, viewer: Viewer, level: Level, codes: Sequence[str], simplify_m: float,
    precision: int,
) -> dict[str, str]:
    """GeoJSON of each visible boundary; `simplify_m` > 0 applies ST_SimplifyPreserveTopology.

    Simplification keeps every polygon valid and never collapses it, but does not keep edges
    shared by neighbours identical (that needs PostGIS 3.4's ST_CoverageSimplify).
    """
    model = MODELS[level]
    geom = model.geom
    if simplify_m > 0:
        # GEOS returns a Polygon for a one-part MultiPolygon; ST_Multi keeps the documented type.
        geom = func.ST_Multi(func.ST_SimplifyPreserveTopology(geom, literal(simplify_m / METRES_PER_DEGREE)))
    stmt = select(model.code, func.ST_AsGeoJSON(geom, literal(precision))).where(
        one_of(model.code, codes, String()), model.geom.is_not(None), region_visible(viewer, level, model.code)
    )
    return {code: text for code, text in (await session.execute(stmt)).all()}
