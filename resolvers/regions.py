"""Provinces, regencies, districts and villages: lookups, parent chains, child lists, geometry."""

from __future__ import annotations

from typing import Any

import orjson

from db.filters import NO_FILTER, ListFilter
from db.queries.villages import VillagesOf
from db.records import GeoJSON, LonLat, RegionRecord, VillageRecord
from db.regions import Level
from resolvers.context import Info
from resolvers.errors import NotFound
from resolvers.inputs import geometry_options, region_code
from resolvers.pagination import Page, PageArgs, connection, key_types


async def region(info: Info, level: Level, code: str) -> RegionRecord:
    """A province, regency or district by code; NOT_FOUND when absent or outside the caller's scope."""
    code = region_code(code, "code", level)
    found = await info.context.loaders.region.load((level, code))
    if found is None:
        raise NotFound(f"no {level.value} {code} that you can see")
    return found


async def parent_region(info: Info, level: Level, code: str | None) -> RegionRecord | None:
    """A region in a parent chain; null when it lies outside the caller's scope."""
    return await info.context.loaders.region.load((level, code)) if code else None


async def village(info: Info, code: str) -> VillageRecord:
    code = region_code(code, "code", Level.VILLAGE)
    found = await info.context.loaders.village.load((None, code))
    if found is None:
        raise NotFound(f"no village {code} that you can see")
    return found


async def village_or_none(info: Info, code: str) -> VillageRecord | None:
    return await info.context.loaders.village.load((None, code))


async def regions(
    info: Info, level: Level, parent_code: str | None, filter: ListFilter, page: PageArgs
) -> Page[RegionRecord]:
    """The regions of `level` under `parent_code`, or all of them when it is None."""
    loaders = info.context.loaders
    relation = (level, parent_code is not None)
    keys = key_types(str, by_distance=filter.near is not None)
    return await connection(loaders.region_pages, loaders.region_counts, relation, parent_code, filter, page, keys)


async def villages(
    info: Info, of: VillagesOf, parent: Any, filter: ListFilter = NO_FILTER, page: PageArgs = PageArgs()
) -> Page[VillageRecord]:
    loaders = info.context.loaders
    by_distance = filter.near is not None or of is VillagesOf.AGENT_REACH
    keys = key_types(str, by_distance=by_distance)
    return await connection(loaders.village_pages, loaders.village_counts, of, parent, filter, page, keys)


async def boundary(info: Info, level: Level, code: str, simplify_m: float, precision: int) -> GeoJSON | None:
    """The boundary as GeoJSON, simplified by `simplify_m` metres and rounded to `precision` digits."""
    options = geometry_options(simplify_m, precision)
    text = await info.context.loaders.boundary.load(((level, *options), code))
    return orjson.loads(text) if text is not None else None


def point(location: LonLat | None, precision: int) -> GeoJSON | None:
    if location is None:
        return None
    geometry_options(0, precision)
    return {"type": "Point", "coordinates": [round(location.lon, precision), round(location.lat, precision)]}


async def district_villages(info: Info, code: str, filter: ListFilter, page: PageArgs) -> Page[VillageRecord]:
    return await villages(info, VillagesOf.DISTRICT, code, filter, page)


async def villages_in_reach(info: Info, agent_id: int, filter: ListFilter, page: PageArgs) -> Page[VillageRecord]:
    """Villages whose label point the agent reaches, nearest first."""
    return await villages(info, VillagesOf.AGENT_REACH, agent_id, filter, page)


async def all_villages(info: Info, filter: ListFilter, page: PageArgs) -> Page[VillageRecord]:
    return await villages(info, VillagesOf.ALL, None, filter, page)
