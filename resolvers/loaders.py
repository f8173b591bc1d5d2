"""Request-scoped DataLoaders, one per relation, all bound to the caller's Viewer.

Every statement they send carries the Viewer's scope, so nothing a loader returns needs
filtering afterwards.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.access import Viewer
from db.filters import ListFilter
from db.queries import agents, enrollments, geometry, regions, villages
from db.queries.paging import Slice, Window
from db.records import (
    AgentRecord,
    EnrollmentRecord,
    ParticipantRecord,
    RegionRecord,
    VillageRecord,
)
from db.regions import Level
from resolvers.batching import grouped_loader
from resolvers.coverage_loaders import CoverageLoaders, make_coverage_loaders

# Pages: the group is (relation, filter, window); the key is the parent (None for a root list).
PageGroup = tuple[Hashable, ListFilter, Window]
CountGroup = tuple[Hashable, ListFilter]


@dataclass(frozen=True, slots=True)
class Loaders:
    region: DataLoader[tuple[Level, str], RegionRecord | None]
    village: DataLoader[tuple[None, str], VillageRecord | None]
    agent: DataLoader[tuple[None, int], AgentRecord | None]
    agent_by_code: DataLoader[tuple[None, str], AgentRecord | None]
    participant: DataLoader[tuple[None, int], ParticipantRecord | None]
    enrollment: DataLoader[tuple[None, int], EnrollmentRecord | None]
    boundary: DataLoader[tuple[tuple[Level, float, int], str], str | None]
    region_pages: DataLoader[tuple[PageGroup, Any], Slice[RegionRecord]]
    region_counts: DataLoader[tuple[CountGroup, Any], int]
    village_pages: DataLoader[tuple[PageGroup, Any], Slice[VillageRecord]]
    village_counts: DataLoader[tuple[CountGroup, Any], int]
    agent_pages: DataLoader[tuple[PageGroup, Any], Slice[AgentRecord]]
    agent_counts: DataLoader[tuple[CountGroup, Any], int]
    enrollment_pages: DataLoader[tuple[PageGroup, Any], Slice[EnrollmentRecord]]
    enrollment_counts: DataLoader[tuple[CountGroup, Any], int]
    coverage: CoverageLoaders


def make_loaders(sessions: async_sessionmaker[AsyncSession], viewer: Viewer) -> Loaders:
    async def region(s: AsyncSession, level: Level, codes: Sequence[str]) -> dict[str, RegionRecord]:
        return {r.code: r for r in await regions.regions_by_codes(s, viewer, level, codes)}

    async def village(s: AsyncSession, _: None, codes: Sequence[str]) -> dict[str, VillageRecord]:
        return {r.code: r for r in await villages.villages_by_codes(s, viewer, codes)}

    async def agent(s: AsyncSession, _: None, ids: Sequence[int]) -> dict[int, AgentRecord]:
        return {r.id: r for r in await agents.agents_by_ids(s, viewer, ids)}

    async def agent_by_code(s: AsyncSession, _: None, codes: Sequence[str]) -> dict[str, AgentRecord]:
        return {r.code: r for r in await agents.agents_by_codes(s, viewer, codes)}

    async def participant(s: AsyncSession, _: None, ids: Sequence[int]) -> dict[int, ParticipantRecord]:
        return {r.id: r for r in await enrollments.participants_by_ids(s, viewer, ids)}

    async def enrollment(s: AsyncSession, _: None, ids: Sequence[int]) -> dict[int, EnrollmentRecord]:
        return {r.id: r for r in await enrollments.enrollments_by_ids(s, viewer, ids)}

    async def boundary(s: AsyncSession, group: tuple[Level, float, int], codes: Sequence[str]) -> dict[str, str]:
        level, simplify_m, precision = group
        return await geometry.boundaries(s, viewer, level, codes, simplify_m, precision)

    async def region_pages(s: AsyncSession, g: PageGroup, parents: Sequence[Any]) -> dict[Any, Slice[RegionRecord]]:
        (level, by_parent), filter, window = g
        return await regions.region_pages(s, viewer, level, by_parent, parents, filter, window)

    async def region_counts(s: AsyncSession, g: CountGroup, parents: Sequence[Any]) -> dict[Any, int]:
        (level, by_parent), filter = g
        return await regions.region_counts(s, viewer, level, by_parent, parents, filter)

    async def village_pages(s: AsyncSession, g: PageGroup, parents: Sequence[Any]) -> dict[Any, Slice[VillageRecord]]:
        return await villages.village_pages(s, viewer, g[0], parents, g[1], g[2])  # type: ignore[arg-type]

    async def village_counts(s: AsyncSession, g: CountGroup, parents: Sequence[Any]) -> dict[Any, int]:
        return await villages.village_counts(s, viewer, g[0], parents, g[1])  # type: ignore[arg-type]

    async def agent_pages(s: AsyncSession, g: PageGroup, parents: Sequence[Any]) -> dict[Any, Slice[AgentRecord]]:
        return await agents.agent_pages(s, viewer, g[0], parents, g[1], g[2])  # type: ignore[arg-type]

    async def agent_counts(s: AsyncSession, g: CountGroup, parents: Sequence[Any]) -> dict[Any, int]:
        return await agents.agent_counts(s, viewer, g[0], parents, g[1])  # type: ignore[arg-type]

    async def enrollment_pages(
        s: AsyncSession, g: PageGroup, parents: Sequence[Any]
    ) -> dict[Any, Slice[EnrollmentRecord]]:
        return await enrollments.enrollment_pages(s, viewer, g[0], parents, g[1], g[2])  # type: ignore[arg-type]

    async def enrollment_counts(s: AsyncSession, g: CountGroup, parents: Sequence[Any]) -> dict[Any, int]:
        return await enrollments.enrollment_counts(s, viewer, g[0], parents, g[1])  # type: ignore[arg-type]

    empty: Slice[Any] = Slice()
    return Loaders(
        region=grouped_loader(sessions, region, None),
        village=grouped_loader(sessions, village, None),
        agent=grouped_loader(sessions, agent, None),
        agent_by_code=grouped_loader(sessions, agent_by_code, None),
        participant=grouped_loader(sessions, participant, None),
        enrollment=grouped_loader(sessions, enrollment, None),
        boundary=grouped_loader(sessions, boundary, None),
        region_pages=grouped_loader(sessions, region_pages, empty),
        region_counts=grouped_loader(sessions, region_counts, 0),
        village_pages=grouped_loader(sessions, village_pages, empty),
        village_counts=grouped_loader(sessions, village_counts, 0),
        agent_pages=grouped_loader(sessions, agent_pages, empty),
        agent_counts=grouped_loader(sessions, agent_counts, 0),
        enrollment_pages=grouped_loader(sessions, enrollment_pages, empty),
        enrollment_counts=grouped_loader(sessions, enrollment_counts, 0),
        coverage=make_coverage_loaders(sessions, viewer),
    )
