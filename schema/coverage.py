"""Coverage types: village and region figures, gaps with reasons, nearest agents, workload, sites."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.rules import DEFAULT_OBSERVED_DAYS
from resolvers.context import Info
from schema.compiled import by_compiler

if TYPE_CHECKING:
    from schema.agents import Agent
    from schema.regions import AdministrativeRegion, Village

AgentType = Annotated["Agent", strawberry.lazy("schema.agents")]
VillageType = Annotated["Village", strawberry.lazy("schema.regions")]
RegionType = Annotated["AdministrativeRegion", strawberry.lazy("schema.regions")]

ACTIVE_WITHIN_DAYS = (
    "Count an agent only if it recorded an enrollment in this many days up to `asOf` "
    "(effective coverage). Null: every agent whose status is active (nominal coverage)."
)
AS_OF = "The day activity is measured at (default: today)."
OBSERVED_DAYS = "The window of enrollments that count as observed, in days up to `asOf` (1 to 3,650)."


@strawberry.enum(description="Why a village is a coverage gap.")
class GapReason(enum.Enum):
    NO_AGENT_WITHIN_REACH = strawberry.enum_value("NO_AGENT_WITHIN_REACH", description="No agent of any status reaches it: recruit.")
    AGENTS_INACTIVE = strawberry.enum_value("AGENTS_INACTIVE", description="Agents would reach it but none counts as active: reactivate.")
    LOW_PENETRATION = strawberry.enum_value("LOW_PENETRATION", description="Penetration below the threshold: push enrollment.")
    NO_ESTIMATE = strawberry.enum_value("NO_ESTIMATE", description="No informal-worker estimate: unranked; collect one.")
    ENROLLMENTS_SUPPRESSED = strawberry.enum_value(
        "ENROLLMENTS_SUPPRESSED", description="Its enrollment figures are suppressed for your role (a small count, or "
        "hidden with one): listed whatever the thresholds, ranked by its informal workers.")
    PAPER_ONLY = strawberry.enum_value("PAPER_ONLY", description="Reached only on paper: no agent in reach enrolled "
                                       "anyone there in the observed window; check the agents are working there.")


@strawberry.enum(description="Which gaps to list.")
class GapKind(enum.Enum):
    UNREACHED = strawberry.enum_value("unreached", description="No counting agent reaches it.")
    UNDERPENETRATED = strawberry.enum_value("underpenetrated", description="Penetration below the threshold, or unknown.")
    ALL = strawberry.enum_value("all", description="Unreached or underpenetrated.")
    PAPER_ONLY = strawberry.enum_value("paper_only", description="Reached by a counting agent, but none of the agents "
                                       "reaching it enrolled anyone there in `observedWithinDays` days.")


@strawberry.enum(description="What an export holds.")
class ExportKind(enum.Enum):
    VILLAGES = strawberry.enum_value("villages", description="Every village: estimate (and its source), enrollments, "
                                     "penetration, agents, coverage class; boundaries in GeoJSON and GeoPackage.")
    GAPS = strawberry.enum_value("gaps", description="Coverage gaps with their reasons, most uncovered workers first.")
    WORKLOAD = strawberry.enum_value("workload", description="Agents with their workload, heaviest first.")


@strawberry.enum(description="The file format of an export.")
class ExportFormat(enum.Enum):
    CSV = "csv"
    XLSX = "xlsx"
    GEOJSON = "geojson"
    GPKG = "gpkg"


@strawberry.enum(description="Where candidate sites for new agents may be.")
class SiteCandidates(enum.Enum):
    VILLAGE_LABEL_POINTS = "village_label_points"


@strawberry.input(description="A WGS84 position.")
class LngLatInput:
    lng: float
    lat: float


SUPPRESSED = ("Null for roles without personal-data access when the count is small (1 to k - 1, k = 5 by default) or "
              "hidden with one (complementary suppression): see enrollmentsSuppressed.")
ENROLLMENTS_SUPPRESSED = ("True when this caller gets no enrollment figures here: a small count, or one hidden so that a "
                          "small count cannot be had by subtraction from its region's total.")


@strawberry.type(name="VillageCoverage", description="One village: reach, nearest agent and penetration.")
class VillageCoverageType:
    covered: bool = strawberry.field(description="At least one counting agent reaches the label point.")
    agent_count: int = strawberry.field(description="Counting agents whose reach covers the label point.")
    agents_any_status: int = strawberry.field(description="Agents of any status or activity that would reach it.")
    informal_workers: int | None = strawberry.field(description="Estimated informal workers; null: no estimate.")
    active_enrollments: int | None = strawberry.field(description=f"Active enrollments. {SUPPRESSED}")
    penetration: float | None = strawberry.field(description=f"Active enrollments / informal workers. {SUPPRESSED}")
    uncovered_workers: int | None = strawberry.field(
        description=f"max(0, informal workers - active enrollments). {SUPPRESSED}")
    enrollments_suppressed: bool = strawberry.field(description=ENROLLMENTS_SUPPRESSED)

    @strawberry.field(description="The nearest counting agent, in reach or not (null if outside your scope).")
    async def nearest_agent(self, root: strawberry.Parent[Any], info: Info) -> AgentType | None:
        return by_compiler()

    @strawberry.field(description="Geodesic metres to the nearest counting agent.")
    def nearest_distance_m(self, root: strawberry.Parent[Any]) -> float | None:
        return by_compiler()

    @strawberry.field(description="Share (0-1) of the village's area inside the union of counting agents' "
                      "geodesic reach circles. Computed on request; costs more than the other fields.")
    async def covered_fraction(self, root: strawberry.Parent[Any], info: Info) -> float | None:
        return by_compiler()

    @strawberry.field(description="Reached in practice: a counting agent that reaches it enrolled someone there in "
                      "the `withinDays` days up to the coverage's `asOf`.")
    def observed(self, root: strawberry.Parent[Any], within_days: Annotated[int, strawberry.argument(
            description=OBSERVED_DAYS)] = DEFAULT_OBSERVED_DAYS) -> bool:
        return by_compiler()

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()


@strawberry.type(name="RegionCoverage", description="Sums over a region's villages (and per child region).")
class RegionCoverageType:
    code: str | None = strawberry.field(description="Null: Indonesia.")
    name: str | None
    villages: int
    covered_villages: int
    covered_share: float | None = strawberry.field(
        description="Share (0-1) of the region's villages reached by at least one active agent: "
                    "coveredVillages / villages. Null when the region has no villages.")
    coverage_pct: float | None = strawberry.field(
        description="Covered villages / villages × 100.",
        deprecation_reason="Shares are fractions 0-1 across the API (like penetration); use coveredShare.")
    villages_without_estimate: int
    informal_workers: int = strawberry.field(description="Over villages with an estimate.")
    workers_in_reach: int = strawberry.field(description="Informal workers of covered villages.")
    active_enrollments: int | None = strawberry.field(description=f"Active enrollments. {SUPPRESSED}")
    penetration: float | None = strawberry.field(
        description=f"Active enrollments / informal workers, over villages with an estimate. {SUPPRESSED}")
    uncovered_workers: int | None = strawberry.field(
        description="Informal workers not enrolled (reached by an agent or not): "
                    f"Σ max(0, informal workers - active enrollments) over villages. {SUPPRESSED}")
    active_agents: int = strawberry.field(description="Counting agents whose home village lies in the region.")
    enrollments_per_agent: float | None = strawberry.field(description=SUPPRESSED)
    enrollments_suppressed: bool = strawberry.field(description=ENROLLMENTS_SUPPRESSED)

    @strawberry.field(description="The next level down: provinces, regencies, districts or villages.")
    def children(self, root: strawberry.Parent[Any]) -> list[RegionCoverageType]:
        return by_compiler()

    @strawberry.field(description="The region itself (null for Indonesia).")
    async def region(self, root: strawberry.Parent[Any], info: Info) -> RegionType | None:
        return by_compiler()


@strawberry.type(description="A village that is a coverage gap, and why.")
class CoverageGap:
    coverage: VillageCoverageType

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()

    @strawberry.field(description="Every reason that applies.")
    def reasons(self, root: strawberry.Parent[Any]) -> list[GapReason]:
        return by_compiler()


@strawberry.type(description="An agent and its geodesic distance.")
class NearbyAgent:
    distance_m: float

    @strawberry.field(description="Null when the agent lies outside your scope.")
    async def agent(self, root: strawberry.Parent[Any], info: Info) -> AgentType | None:
        return by_compiler()


@strawberry.type(description="What an agent reaches and enrolls, and how much it shares with others.")
class AgentWorkload:
    villages_in_reach: int
    informal_workers_in_reach: int
    villages_without_estimate: int
    workers_share: float = strawberry.field(
        description="Σ over villages in reach of workers / (other counting agents reaching it + 1)."
    )
    overlapping_workers: int = strawberry.field(description="Workers in reach that another counting agent also reaches.")
    overlap_share: float | None = strawberry.field(description="overlappingWorkers / informalWorkersInReach.")
    enrollments_30_days: int = strawberry.field(description="Enrollments it recorded in the 30 days up to asOf.")
    enrollments_90_days: int
    overloaded: bool = strawberry.field(description="workersShare is above the query's overloadAbove.")
    heavy_overlap: bool = strawberry.field(description="At least 80 % of its workers in reach are also another agent's.")

    @strawberry.field(description="Whether the agent counts as active under the activity arguments.")
    def counts_as_active(self, root: strawberry.Parent[Any]) -> bool:
        return by_compiler()

    @strawberry.field
    async def agent(self, root: strawberry.Parent[Any], info: Info) -> AgentType | None:
        return by_compiler()


@strawberry.type(description="A recommended site for a new agent, in ranked order.")
class AgentSite:
    rank: int
    village_code: str
    lng: float
    lat: float
    newly_reached_workers: int = strawberry.field(description="Uncovered workers this site adds to those before it.")
    cumulative_workers: int = strawberry.field(description="Uncovered workers reached by this site and all before it.")
    newly_reached_villages: int

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()
