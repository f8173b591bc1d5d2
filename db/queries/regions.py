"""Provinces, regencies and districts: lookups by code and lists under a parent region."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, String, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, region_visible
from db.filters import ListFilter, common, distance_to, spatial
from db.models import District, Province, Regency
from db.queries.paging import Listing, Slice, Window, count_rows, fetch_slices, one_of
from db.records import LonLat, RegionRecord
from db.regions import Level

MODELS: dict[Level, type[Province] | type[Regency] | type[District]] = {
    Level.PROVINCE: Province, Level.REGENCY: Regency, Level.DISTRICT: District,
}


def label_point(row: Row[Any]) -> LonLat | None:
    return LonLat(row.lon, row.lat) if row.lon is not None else None


def listing(viewer: Viewer, level: Level, filter: ListFilter, *, by_parent: bool) -> Listing[RegionRecord]:
    model = MODELS[level]
    parent: ColumnElement[Any] = getattr(model, level.parent_column) if level.parent_column else null()
    stmt = select(
        model.code.label("code"), model.name.label("name"), parent.label("parent_code"),
        model.area_km2.label("area_km2"),
        func.ST_X(model.label_point).label("lon"), func.ST_Y(model.label_point).label("lat"),
    ).where(
        region_visible(viewer, level, model.code),
        common(filter, model.code, model.name),
        spatial(filter, model.geom, model.label_point),
    )
    distance = distance_to(filter, model.label_point)
    keys = (model.code,) if distance is None else (distance, model.code)

    def record(row: Row[Any]) -> RegionRecord:
        return RegionRecord(level, row.code, row.name, row.parent_code, row.area_km2, label_point(row))

    return Listing(
        stmt, keys, record, distance,
        parent=parent if by_parent else None, parent_type=String() if by_parent else None,
    )


async def regions_by_codes(
    session: AsyncSession, viewer: Viewer, level: Level, codes: Sequence[str]
) -> list[RegionRecord]:
    """Visible regions of one level whose code is in `codes` (unknown ones are absent)."""
    lookup = listing(viewer, level, ListFilter(), by_parent=False)
    rows = (await session.execute(lookup.select.where(one_of(MODELS[level].code, codes, String())))).all()
    return [lookup.to_record(r) for r in rows]


async def region_pages(
    session: AsyncSession, viewer: Viewer, level: Level, by_parent: bool, parents: Sequence[str | None],
    filter: ListFilter, window: Window,
) -> dict[str | None, Slice[RegionRecord]]:
    """A page of the regions of `level` under each parent code, or of all of them (parents [None])."""
    return await fetch_slices(session, listing(viewer, level, filter, by_parent=by_parent), parents, window)


async def region_counts(
    session: AsyncSession, viewer: Viewer, level: Level, by_parent: bool, parents: Sequence[str | None],
    filter: ListFilter,
) -> dict[str | None, int]:
    return await count_rows(session, listing(viewer, level, filter, by_parent=by_parent), parents)
