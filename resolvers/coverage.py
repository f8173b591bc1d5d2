"""Coverage analytics: summaries, gaps, nearest agents, workload and where to recruit next.

Who may analyse what: admins and planners everything; managers the regions inside their scope
(not the national summary); agents only the coverage of the villages they can see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass, replace

from db.access import Role, Viewer, analyses
from db.queries.gaps import GapKind, GapQuery
from db.queries.paging import Item, Slice, Window
from db.queries.workload import WorkloadRecord
from db.records import Activity, CoverageFigures, NearestAgent, VillageCoverage
from db.regions import Level
from db.rules import DEFAULT_REACH_M, MAX_REACH_M
from geo.siting import SitingTimedOut, SitingTooLarge, exact, greedy
from resolvers.context import Info
from resolvers.errors import BadUserInput, Forbidden, NotFound
from resolvers.inputs import lng_lat, region_code
from resolvers.pagination import Page, PageArgs, to_page, window

MAX_ACTIVE_WITHIN_DAYS = 3650
MAX_NEAREST = 100
MAX_SITES = 200
MIN_SITE_REACH_M = 100
EXACT_TIME_LIMIT_S = 20.0
DEFAULT_SITE_REACH_M = float(DEFAULT_REACH_M)


def activity(active_within_days: int | None, as_of: dt.date | None) -> Activity:
    if active_within_days is not None and not 1 <= active_within_days <= MAX_ACTIVE_WITHIN_DAYS:
        raise BadUserInput(f"must be between 1 and {MAX_ACTIVE_WITHIN_DAYS} days", field="activeWithinDays")
    if as_of is not None and as_of > dt.date.today():
        raise BadUserInput("is in the future; give today or an earlier date", field="asOf")
    return Activity(active_within_days, as_of)


def _check_scope(viewer: Viewer, code: str | None, field: str) -> None:
    if analyses(viewer, code):
        return
    if viewer.role is Role.MANAGER:
        if code is None:
            raise Forbidden("the national summary is for planners; give a regionCode inside your scope", field=field)
        raise Forbidden(f"{code} is outside your scope ({', '.join(viewer.scope)})", field=field)
    raise Forbidden("coverage analytics are for planners and managers", field=field)


async def _analysable_region(info: Info, code: str | None, field: str) -> tuple[Level | None, str | None]:
    """(level, code) of a region the caller may analyse; NOT_FOUND when it does not exist."""
    if code is None:
        _check_scope(info.context.viewer, None, field)
        return None, None
    code = region_code(code, field)
    level = Level.of_code(code)
    if level is Level.VILLAGE:
        raise BadUserInput("is a village code; ask village(code) { coverage } for one village", field=field)
    _check_scope(info.context.viewer, code, field)
    if await info.context.loaders.region.load((level, code)) is None:  # type: ignore[arg-type]
        raise NotFound(f"no {level} with code {code}", field=field)
    return level, code


async def coverage(info: Info, code: str | None, act: Activity) -> CoverageFigures:
    level, code = await _analysable_region(info, code, "regionCode")
    return await info.context.loaders.coverage.region.load(((level, act), code))


async def region_coverage(info: Info, level: Level, code: str, act: Activity) -> CoverageFigures:
    """Nested under a region the caller can already see."""
    _check_scope(info.context.viewer, code, "coverage")
    return await info.context.loaders.coverage.region.load(((level, act), code))


async def village_coverage(info: Info, code: str, act: Activity) -> VillageCoverage | None:
    """Nested under a village the caller can already see (agents included)."""
    return await info.context.loaders.coverage.village.load((act, code))


async def covered_fraction(info: Info, code: str, act: Activity) -> float | None:
    return await info.context.loaders.coverage.covered_fraction.load((act, code))


def gap_reasons(gap: VillageCoverage, penetration_below: float) -> list[str]:
    reasons = []
    if not gap.covered:
        reasons.append("AGENTS_INACTIVE" if gap.agents_any_status else "NO_AGENT_WITHIN_REACH")
    if gap.penetration is not None and gap.penetration < penetration_below:
        reasons.append("LOW_PENETRATION")
    if gap.informal_workers is None:
        reasons.append("NO_ESTIMATE")
    return reasons


@dataclass(frozen=True, slots=True)
class GapView:
    coverage: VillageCoverage
    penetration_below: float

    @property
    def reasons(self) -> list[str]:
        return gap_reasons(self.coverage, self.penetration_below)


async def coverage_gaps(
    info: Info, code: str | None, kind: str, min_uncovered_workers: int, penetration_below: float,
    include_without_estimate: bool, act: Activity, page: PageArgs,
) -> Page[GapView]:
    _, code = await _analysable_region(info, code, "regionCode")
    if min_uncovered_workers < 0:
        raise BadUserInput("must be 0 or more", field="minUncoveredWorkers")
    if not (math.isfinite(penetration_below) and 0 <= penetration_below <= 1):
        raise BadUserInput("is a share between 0 and 1 (0.05 = 5 %)", field="penetrationBelow")
    query = GapQuery(code, GapKind(kind), penetration_below, min_uncovered_workers, include_without_estimate, act)
    bounds = _forward_only(page, (float, str))
    found = await info.context.loaders.coverage.gap_pages.load(((query, bounds), None))
    views = [Item(GapView(i.record, penetration_below), i.key) for i in found.slice.items]

    async def total() -> int:
        return found.total

    return to_page(Slice(views, found.slice.has_more), bounds, total)


def _forward_only(page: PageArgs, key: tuple[type, ...]) -> Window:
    if page.last is not None or page.before is not None:
        raise BadUserInput("this ranked list pages forwards only; use `first` and `after`", field="last")
    return window(page, key)


async def agent_workload(
    info: Info, code: str | None, overload_above: float, act: Activity, page: PageArgs
) -> Page[WorkloadRecord]:
    _, code = await _analysable_region(info, code, "regionCode")
    if not (math.isfinite(overload_above) and overload_above > 0):
        raise BadUserInput("must be a positive number of workers per agent", field="overloadAbove")
    bounds = _forward_only(page, (float, int))
    loaders = info.context.loaders.coverage
    found = await loaders.workload_pages.load((((code, act), bounds), None))
    flagged = [Item(replace(i.record, overloaded=i.record.workers_share > overload_above), i.key) for i in found.items]
    return to_page(Slice(flagged, found.has_more), bounds, lambda: loaders.workload_counts.load((code, None)))


async def nearest_agents(
    info: Info, village_code: str | None, point: tuple[float, float] | None, k: int,
    max_distance_m: float | None, act: Activity,
) -> list[NearestAgent]:
    if (village_code is None) == (point is None):
        raise BadUserInput("give either villageCode or point", field="villageCode")
    if not 1 <= k <= MAX_NEAREST:
        raise BadUserInput(f"must be between 1 and {MAX_NEAREST}", field="k")
    if max_distance_m is not None and not (math.isfinite(max_distance_m) and max_distance_m > 0):
        raise BadUserInput("must be a positive number of metres", field="maxDistanceM")
    if village_code is not None:
        code = region_code(village_code, "villageCode", Level.VILLAGE)
        _check_scope(info.context.viewer, code, "villageCode")
        village = await info.context.loaders.village.load((None, code))
        if village is None:
            raise NotFound(f"no village with code {code}", field="villageCode")
        if village.label_point is None:
            raise BadUserInput(f"village {code} has no boundary yet, so no location", field="villageCode")
        point = (village.label_point.lon, village.label_point.lat)
    else:
        if info.context.viewer.role is Role.AGENT:
            raise Forbidden("nearest-agent search is for planners and managers", field="point")
        point = lng_lat(point[0], point[1], "point")  # type: ignore[index]
    return await info.context.loaders.coverage.nearest.load(((k, max_distance_m, act), point))


@dataclass(frozen=True, slots=True)
class SiteRecord:
    rank: int
    village_code: str
    lng: float
    lat: float
    newly_reached_workers: int
    cumulative_workers: int
    newly_reached_villages: int


async def recommend_sites(
    info: Info, code: str, count: int, reach_m: float, use_exact: bool, act: Activity
) -> list[SiteRecord]:
    _, code = await _analysable_region(info, code, "regionCode")
    if not 1 <= count <= MAX_SITES:
        raise BadUserInput(f"must be between 1 and {MAX_SITES}", field="count")
    if not (math.isfinite(reach_m) and MIN_SITE_REACH_M <= reach_m <= MAX_REACH_M):
        raise BadUserInput(f"must be between {MIN_SITE_REACH_M} and {MAX_REACH_M:,} m", field="reachM")
    data = await info.context.loaders.coverage.siting.load(((str(code), float(reach_m), act), None))
    weights = [float(w) for _, w in data.demand]
    try:
        sites = await asyncio.to_thread(
            exact if use_exact else greedy, data.reaches, weights, count,
            *((EXACT_TIME_LIMIT_S,) if use_exact else ()),
        )
    except (SitingTooLarge, SitingTimedOut) as exc:
        raise BadUserInput(f"{exc}; use the greedy solver (exact: false) or a smaller region", field="exact") from exc
    covered: set[int] = set()
    result = []
    for rank, site in enumerate(sites, start=1):
        new = set(data.reaches[site.candidate]) - covered
        covered |= new
        village, lng, lat = data.candidates[site.candidate]
        result.append(SiteRecord(rank, village, lng, lat, round(site.gain), round(site.cumulative), len(new)))
    return result

