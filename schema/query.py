"""The root Query type: entry points by code or id, and the top-level lists."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from db.rules import DEFAULT_OBSERVED_DAYS, LOW_PENETRATION, OVERLOAD_WORKERS, PENETRATION_CHANGE
from resolvers.context import Info
from resolvers.siting import DEFAULT_SITE_REACH_M
from schema.agents import Agent
from schema.alerts import CoverageAlert
from schema.audit import AuditEntry
from schema.compiled import by_compiler
from schema.connection import Connection
from schema.coverage import (
    ACTIVE_WITHIN_DAYS,
    AS_OF,
    OBSERVED_DAYS,
    AgentSite,
    AgentWorkload,
    CoverageGap,
    ExportFormat,
    ExportKind,
    GapKind,
    LngLatInput,
    NearbyAgent,
    RegionCoverageType,
    SiteCandidates,
)
from schema.data_quality import DataQualityFlag, DataQualityReason
from schema.enrollments import Enrollment
from schema.inputs import (
    FIRST,
    GEOMETRY_BUDGET,
    LAST,
    AgentFilter,
    EnrollmentFilter,
    RegionFilter,
)
from schema.regions import District, Province, Regency, Village, national_map_url
from schema.scenarios import Scenario
from schema.snapshots import CoverageChange, CoverageSnapshot, CoverageTrendPoint
from schema.viewer import Me

CODE = "Kemendagri code"
REGION = "Kemendagri code of a province, regency or district; null: all of Indonesia."
DaysArg = Annotated[int | None, strawberry.argument(description=ACTIVE_WITHIN_DAYS)]
AsOfArg = Annotated[dt.date | None, strawberry.argument(description=AS_OF)]


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global `id`; null when absent or outside your scope.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return by_compiler()

    @strawberry.field(description="The caller: token subject, role and scope.")
    def me(self, info: Info) -> Me:
        return by_compiler()

    indonesia_map_url: str | None = strawberry.field(
        resolver=national_map_url, description="Link to the map of Indonesia's provinces (HTML), valid 30 minutes; "
        "null when your role may not see all of Indonesia (admins and planners may).")

    @strawberry.field(description="A province by code, e.g. 34.")
    async def province(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> Province | None:
        return by_compiler()

    @strawberry.field(description="A regency or city by code, e.g. 34.71.")
    async def regency(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> Regency | None:
        return by_compiler()

    @strawberry.field(description="A district by code, e.g. 34.71.01.")
    async def district(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> District | None:
        return by_compiler()

    @strawberry.field(description="A village by code, e.g. 34.71.01.1001.")
    async def village(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> Village | None:
        return by_compiler()

    @strawberry.field(description="An agent by global `id` or by agent `code` (give one).")
    async def agent(self, info: Info, id: relay.GlobalID | None = None, code: str | None = None) -> Agent | None:
        return by_compiler()

    @strawberry.field(description="Provinces, by code.")
    async def provinces(
        self, info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
        geometry_budget: Annotated[int | None, strawberry.argument(description=GEOMETRY_BUDGET)] = None,
    ) -> Connection[Province]:
        return by_compiler()

    @strawberry.field(description="Villages, by code (by distance with `near`).")
    async def villages(
        self, info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
        geometry_budget: Annotated[int | None, strawberry.argument(description=GEOMETRY_BUDGET)] = None,
    ) -> Connection[Village]:
        return by_compiler()

    @strawberry.field(description="Agents, by id (by distance with `near`).")
    async def agents(
        self, info: Info, filter: AgentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Agent]:
        return by_compiler()

    @strawberry.field(description="Enrollments, by id (by distance with `near`).")
    async def enrollments(
        self, info: Info, filter: EnrollmentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Enrollment]:
        return by_compiler()

    @strawberry.field(description="Coverage figures of a region (null: Indonesia) and of each child region.")
    async def coverage(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
        active_within_days: DaysArg = None, as_of: AsOfArg = None,
    ) -> RegionCoverageType:
        return by_compiler()

    @strawberry.field(description="Villages that are coverage gaps, most uncovered workers first; villages "
                      "without an estimate (reason NO_ESTIMATE) come last, unranked.")
    async def coverage_gaps(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
        kind: GapKind = GapKind.ALL,
        min_uncovered_workers: int = 0,
        penetration_below: Annotated[float, strawberry.argument(
            description="LOW_PENETRATION below this share of informal workers enrolled (0.10 = 10 %).")] = LOW_PENETRATION,
        include_without_estimate: bool = True,
        observed_within_days: Annotated[int, strawberry.argument(description=OBSERVED_DAYS + " For PAPER_ONLY.")] = (
            DEFAULT_OBSERVED_DAYS),
        active_within_days: DaysArg = None, as_of: AsOfArg = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[CoverageGap]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="The k counting agents nearest a village's label point or a point, "
                      "exact geodesic distance, nearest first.")
    async def nearest_agents(
        self, info: Info, village_code: str | None = None, point: LngLatInput | None = None, k: int = 5,
        max_distance_m: float | None = None, active_within_days: DaysArg = None, as_of: AsOfArg = None,
    ) -> list[NearbyAgent]:
        return by_compiler()

    @strawberry.field(description="Agents of a region (by home village), heaviest workload first.")
    async def agent_workload(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
        overload_above: Annotated[float, strawberry.argument(
            description="An agent is overloaded when its workersShare is above this.")] = OVERLOAD_WORKERS,
        active_within_days: DaysArg = None, as_of: AsOfArg = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[AgentWorkload]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="Where new agents would reach the most uncovered workers (maximal covering "
                      "location problem): greedy (within 1 - 1/e of optimal) or exact (integer program).")
    async def recommend_agent_sites(
        self, info: Info, region_code: Annotated[str, strawberry.argument(description=REGION)],
        count: int = 10, reach_m: float = DEFAULT_SITE_REACH_M,
        candidate: SiteCandidates = SiteCandidates.VILLAGE_LABEL_POINTS, exact: bool = False,
        active_within_days: DaysArg = None, as_of: AsOfArg = None,
    ) -> list[AgentSite]:
        return by_compiler()

    @strawberry.field(description="Who changed what, when, from what to what; newest first (admins; managers "
                      "inside their scope).")
    async def audit_log(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[AuditEntry]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="Field records to check, by reason then record (admins and planners; managers "
                      "inside their scope, all of it when regionCode is null).")
    async def data_quality(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(
            description="Kemendagri code of any region, village included; null: all you may see "
                        "(Indonesia, or a manager's whole scope).")] = None,
        reasons: Annotated[list[DataQualityReason] | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only these reasons (default: all).")] = None,
        as_of: Annotated[dt.date | None, strawberry.argument(
            description="The day AGENT_INACTIVE is measured at (default: today).")] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[DataQualityFlag]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="A saved scenario by its `id` (null when absent or outside your scope).")
    async def scenario(self, info: Info, id: relay.GlobalID) -> Scenario | None:
        return by_compiler()

    @strawberry.field(description="Saved scenarios you may see, newest first.")
    async def scenarios(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(
            description="Only scenarios of this region and of the regions below it.")] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[Scenario]:
        return by_compiler()

    @strawberry.field(description="Coverage snapshots, newest first (admins, planners and managers).")
    async def coverage_snapshots(self, info: Info) -> list[CoverageSnapshot]:
        return by_compiler()

    @strawberry.field(description="Villages of a region whose reach changed between two snapshots (or a snapshot "
                      "and today), or whose penetration moved by at least `penetrationChange`; with both states and "
                      "the reasons. Lost villages first, then newly reached, then penetration changes; by code.")
    async def coverage_changes(
        self, info: Info, region_code: Annotated[str, strawberry.argument(description=REGION)],
        from_: Annotated[dt.date, strawberry.argument(name="from", description="The `asOf` of a snapshot.")],
        to: Annotated[dt.date | None, strawberry.argument(
            description="The `asOf` of a later snapshot; null: today's data.")] = None,
        penetration_change: Annotated[float, strawberry.argument(
            description="List villages whose penetration moved by at least this (0.05 = 5 points).")] = PENETRATION_CHANGE,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[CoverageChange]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="A region's figures in every snapshot, oldest first (null: Indonesia).")
    async def coverage_trend(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
    ) -> list[CoverageTrendPoint]:
        return by_compiler()

    @strawberry.field(description="Coverage alerts, newest first: villages that lost their last active agent, "
                      "districts whose coverage fell below the threshold (planners; managers inside their scope).")
    async def coverage_alerts(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(
            description="Alerts of this region (a village: its district's); null: all you may see.")] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
    ) -> Connection[CoverageAlert]:  # type: ignore[type-var]  # relay types its items as Nodes; these rows have no id
        return by_compiler()

    @strawberry.field(description="A link, valid 30 minutes, that downloads a region's villages, gaps or agent workload "
                      "as CSV, XLSX, GeoJSON or GeoPackage (what you may see; formulas neutralised in spreadsheets).")
    async def export_coverage(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
        kind: ExportKind = ExportKind.VILLAGES, format: ExportFormat = ExportFormat.CSV,
    ) -> str | None:
        return by_compiler()
