"""Scenarios: what-if changes to a region's agents, evaluated against today's data when read."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from compiler.payload import compiled_as
from db.rules import DEFAULT_OBSERVED_DAYS, DEFAULT_REACH_M, LOW_PENETRATION, OVERLOAD_WORKERS
from db.writes.scenarios import ChangeKind
from resolvers.context import Info
from resolvers.siting import DEFAULT_SITE_REACH_M
from resolvers.writes import ScenarioChange
from schema.compiled import by_compiler
from schema.connection import Connection
from schema.coverage import (
    ACTIVE_WITHIN_DAYS,
    AS_OF,
    OBSERVED_DAYS,
    AgentSite,
    AgentWorkload,
    CoverageGap,
    GapKind,
    LngLatInput,
    RegionCoverageType,
    SiteCandidates,
)
from schema.inputs import FIRST

if TYPE_CHECKING:
    from schema.regions import AdministrativeRegion, Village

VillageType = Annotated["Village", strawberry.lazy("schema.regions")]
RegionType = Annotated["AdministrativeRegion", strawberry.lazy("schema.regions")]
DaysArg = Annotated[int | None, strawberry.argument(description=ACTIVE_WITHIN_DAYS + " Agents a scenario adds have "
                                                    "recorded nothing, so they count only when this is null.")]
AsOfArg = Annotated[dt.date | None, strawberry.argument(description=AS_OF)]


@strawberry.enum(description="What one change of a scenario does.")
class ScenarioChangeKind(enum.Enum):
    ADD_AGENT = strawberry.enum_value(ChangeKind.ADD_AGENT.value, description="A new agent at `location` "
                                      f"(reach `reachM`, default {DEFAULT_REACH_M:,} m; optional `name`).")
    MOVE_AGENT = strawberry.enum_value(ChangeKind.MOVE_AGENT.value, description="Agent `agentCode` works from `location`.")
    CHANGE_REACH = strawberry.enum_value(ChangeKind.CHANGE_REACH.value, description="Agent `agentCode` reaches `reachM` metres.")
    DEACTIVATE_AGENT = strawberry.enum_value(ChangeKind.DEACTIVATE_AGENT.value, description="Agent `agentCode` stops.")


@strawberry.input(description="One change; give the fields its kind needs and no others.")
class ScenarioChangeInput:
    kind: ScenarioChangeKind
    agent_code: str | None = None
    location: LngLatInput | None = None
    reach_m: int | None = strawberry.field(default=None, description="Geodesic reach in metres (1 to 50,000).")
    name: str | None = None

    def change(self) -> ScenarioChange:
        return ScenarioChange(ChangeKind[self.kind.name], self.agent_code,
                              self.location.lng if self.location else None, self.location.lat if self.location else None,
                              self.reach_m, self.name)


@strawberry.input(description="A scenario to save: changes to the agents, evaluated over one region.")
class ScenarioInput:
    name: str
    region_code: str = strawberry.field(description="Kemendagri code of a province, regency or district.")
    changes: list[ScenarioChangeInput] = strawberry.field(description="1 to 500 changes, applied in order.")


@strawberry.input(description="A scenario that adds an agent at each site recommendAgentSites recommends today.")
class ScenarioFromSitesInput:
    name: str
    region_code: str = strawberry.field(description="Kemendagri code of a province, regency or district.")
    count: int = 10
    reach_m: float = strawberry.field(default=DEFAULT_SITE_REACH_M, description="Reach of each new agent, metres.")
    exact: bool = False


@strawberry.type(description="One change of a scenario, as it was given.")
class ScenarioChangeType:
    kind: ScenarioChangeKind
    agent_code: str | None
    lng: float | None
    lat: float | None
    reach_m: int | None
    name: str | None


@strawberry.type(description="A village that the scenario newly reaches, or that it leaves without a counting agent.")
class VillageReachChange:
    code: str
    reached: bool = strawberry.field(description="True: newly reached; false: no longer reached.")
    informal_workers: int | None
    agents_before: int = strawberry.field(description="Counting agents reaching it today.")
    agents_after: int = strawberry.field(description="Counting agents reaching it under the scenario.")

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()


@strawberry.type(description="The scenario's change within one child region of its region.")
class RegionReachChange:
    code: str
    name: str | None
    newly_reached_villages: int
    lost_villages: int
    newly_reached_workers: int = strawberry.field(description="Informal workers of the newly reached villages.")
    lost_workers: int = strawberry.field(description="Informal workers of the villages no longer reached.")


@strawberry.type(description="What the scenario changes against today, over its region.")
class ScenarioDelta:
    newly_reached_villages: int
    lost_villages: int
    newly_reached_workers: int = strawberry.field(description="Informal workers of the newly reached villages.")
    lost_workers: int = strawberry.field(description="Informal workers of the villages no longer reached.")
    villages: list[VillageReachChange] = strawberry.field(description="Every village whose reach changes, most "
                                                          "informal workers first.")
    by_region: list[RegionReachChange] = strawberry.field(description="Per child region (regencies of a province, "
                                                          "districts of a regency, villages of a district) with a change.")


@strawberry.type(description="A saved what-if over a region's agents. Its figures are computed when asked for, "
                 "from today's data with the changes applied; nothing live changes.")
class Scenario(relay.Node):
    @classmethod
    def resolve_id(cls, root: Any, *, info: Info) -> str:
        return by_compiler()

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "Scenario")

    name: str
    region_code: str
    created_by: str = strawberry.field(description="The subject of the token that saved it.")
    created_at: dt.datetime
    changes: list[ScenarioChangeType]

    @strawberry.field(description="The region the scenario is evaluated over.")
    async def region(self, root: strawberry.Parent[Any], info: Info) -> RegionType | None:
        return by_compiler()

    @strawberry.field(description="Coverage figures of the region and its children under the scenario.")
    async def coverage(self, info: Info, active_within_days: DaysArg = None, as_of: AsOfArg = None) -> RegionCoverageType:
        return by_compiler()

    @strawberry.field(description="Coverage gaps of the region under the scenario, ranked as `coverageGaps` ranks them.")
    async def coverage_gaps(
        self, info: Info, kind: GapKind = GapKind.ALL, min_uncovered_workers: int = 0,
        penetration_below: Annotated[float, strawberry.argument(
            description="LOW_PENETRATION below this share of informal workers enrolled (0.10 = 10 %).")] = LOW_PENETRATION,
        include_without_estimate: bool = True,
        observed_within_days: Annotated[int, strawberry.argument(description=OBSERVED_DAYS + " For PAPER_ONLY.")] = (
            DEFAULT_OBSERVED_DAYS), active_within_days: DaysArg = None, as_of: AsOfArg = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[CoverageGap]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="Agents of the region under the scenario (added agents included), heaviest first.")
    async def agent_workload(
        self, info: Info,
        overload_above: Annotated[float, strawberry.argument(
            description="An agent is overloaded when its workersShare is above this.")] = OVERLOAD_WORKERS,
        active_within_days: DaysArg = None, as_of: AsOfArg = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[AgentWorkload]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="Villages and workers newly reached or lost against today.")
    async def delta(self, info: Info, active_within_days: DaysArg = None, as_of: AsOfArg = None) -> ScenarioDelta:
        return by_compiler()

    @strawberry.field(description="Where more agents would reach the most workers still uncovered under the "
                      "scenario (its agents, added ones included, stay as they are); as Query.recommendAgentSites.")
    async def recommend_agent_sites(
        self, info: Info, count: int = 10, reach_m: float = DEFAULT_SITE_REACH_M,
        candidate: SiteCandidates = SiteCandidates.VILLAGE_LABEL_POINTS, exact: bool = False,
        active_within_days: DaysArg = None, as_of: AsOfArg = None,
    ) -> list[AgentSite]:
        return by_compiler()
