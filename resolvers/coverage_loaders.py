"""Request-scoped DataLoaders of the coverage analytics (see `db.queries.coverage` for definitions).

Coverage figures use every agent, whoever asks: a manager's district is covered by an agent from
the next regency just the same. Which regions a caller may analyse is checked before loading
(`resolvers.coverage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.access import Viewer
from db.queries import coverage, gaps, siting, workload
from db.queries.gaps import GapPage, GapQuery
from db.queries.paging import Slice, Window
from db.queries.siting import SitingData
from db.queries.workload import WorkloadRecord
from db.records import Activity, CoverageFigures, NearestAgent, VillageCoverage
from db.regions import Level
from resolvers.batching import grouped_loader

NearestGroup = tuple[int, float | None, Activity]  # k, maxDistanceM, activity
WorkloadGroup = tuple[str | None, Activity]
SitingGroup = tuple[str, float, Activity]  # region, reach_m, activity


@dataclass(frozen=True, slots=True)
class CoverageLoaders:
    region: DataLoader[tuple[tuple[Level | None, Activity], str | None], CoverageFigures]
    village: DataLoader[tuple[Activity, str], VillageCoverage | None]
    covered_fraction: DataLoader[tuple[Activity, str], float | None]
    gap_pages: DataLoader[tuple[tuple[GapQuery, Window], None], GapPage]
    workload_pages: DataLoader[tuple[tuple[WorkloadGroup, Window], None], Slice[WorkloadRecord]]
    workload_counts: DataLoader[tuple[str | None, None], int]
    nearest: DataLoader[tuple[NearestGroup, tuple[float, float]], list[NearestAgent]]
    siting: DataLoader[tuple[SitingGroup, None], SitingData]


def make_coverage_loaders(sessions: async_sessionmaker[AsyncSession], viewer: Viewer) -> CoverageLoaders:
    async def region(s: AsyncSession, g: tuple[Level | None, Activity], codes: Sequence[Any]) -> dict[Any, CoverageFigures]:
        return await coverage.region_coverage(s, g[0], codes, g[1])

    async def village(s: AsyncSession, activity: Activity, codes: Sequence[str]) -> dict[str, VillageCoverage]:
        return await coverage.village_coverage(s, codes, activity)

    async def covered_fraction(s: AsyncSession, activity: Activity, codes: Sequence[str]) -> dict[str, float | None]:
        return await coverage.covered_fractions(s, codes, activity)

    async def gap_pages(s: AsyncSession, g: tuple[GapQuery, Window], _: Sequence[None]) -> dict[None, GapPage]:
        return {None: await gaps.gap_page(s, g[0], g[1].limit, g[1].after)}

    async def workload_pages(
        s: AsyncSession, g: tuple[WorkloadGroup, Window], _: Sequence[None]
    ) -> dict[None, Slice[WorkloadRecord]]:
        (region_code, activity), window = g
        return {None: await workload.workload_page(s, region_code, activity, window.limit, window.after)}

    async def workload_counts(s: AsyncSession, region_code: str | None, _: Sequence[None]) -> dict[None, int]:
        return {None: await workload.workload_count(s, region_code)}

    async def nearest(
        s: AsyncSession, g: NearestGroup, points: Sequence[tuple[float, float]]
    ) -> dict[tuple[float, float], list[NearestAgent]]:
        k, max_m, activity = g
        return {p: await coverage.nearest_agents(s, p[0], p[1], k, max_m, activity, viewer) for p in points}

    async def siting_data(s: AsyncSession, g: SitingGroup, _: Sequence[None]) -> dict[None, SitingData]:
        return {None: await siting.siting_data(s, g[0], g[1], g[2])}

    return CoverageLoaders(
        region=grouped_loader(sessions, region, None),  # type: ignore[arg-type]
        village=grouped_loader(sessions, village, None),
        covered_fraction=grouped_loader(sessions, covered_fraction, None),
        gap_pages=grouped_loader(sessions, gap_pages, GapPage(Slice(), 0)),
        workload_pages=grouped_loader(sessions, workload_pages, Slice()),
        workload_counts=grouped_loader(sessions, workload_counts, 0),
        nearest=grouped_loader(sessions, nearest, []),
        siting=grouped_loader(sessions, siting_data, None),  # type: ignore[arg-type]
    )
