"""Data-quality flags: field records a manager should check, and why."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.records import FlagReason
from resolvers.context import Info
from schema.compiled import by_compiler

if TYPE_CHECKING:
    from schema.agents import Agent
    from schema.enrollments import Enrollment
    from schema.regions import Village

AgentType = Annotated["Agent", strawberry.lazy("schema.agents")]
EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]
VillageType = Annotated["Village", strawberry.lazy("schema.regions")]

DataQualityReason = strawberry.enum(FlagReason, name="DataQualityReason", description=(
    "GPS_OUTSIDE_VILLAGE: the device's point lies farther from the claimed village than its accuracy. "
    "OUTSIDE_AGENT_REACH: the village is more than twice the agent's reach from its base. "
    "NIK_SHARED_BY_AGENTS: one NIK has enrollments by two or more agents. "
    "IDENTICAL_GPS_BURST: three or more enrollments with exactly the same coordinates within an hour. "
    "AGENT_INACTIVE: an active agent (joined 90+ days ago) with no enrollment in the last 90 days."))


@strawberry.type(description="A field record that looks wrong, and why; managers check these.")
class DataQualityFlag:
    reason: DataQualityReason  # type: ignore[valid-type]
    village_code: str = strawberry.field(description="The enrollment's village, or the agent's home village.")
    distance_m: float | None = strawberry.field(
        description="How far: GPS point to village, or agent base to village (geodesic metres).")
    allowed_m: float | None = strawberry.field(
        description="The distance tolerated: the GPS accuracy, or twice the agent's reach.")
    count: int | None = strawberry.field(description="Agents sharing the NIK, or enrollments in the burst.")
    last_enrolled_on: dt.date | None = strawberry.field(description="AGENT_INACTIVE: the agent's latest enrollment.")

    @strawberry.field(description="Why, in words.")
    def message(self, root: strawberry.Parent[Any]) -> str:
        return by_compiler()

    @strawberry.field(description="The flagged enrollment (null for AGENT_INACTIVE).")
    async def enrollment(self, root: strawberry.Parent[Any], info: Info) -> EnrollmentType | None:
        return by_compiler()

    @strawberry.field(description="The agent who recorded it, or the inactive agent.")
    async def agent(self, root: strawberry.Parent[Any], info: Info) -> AgentType | None:
        return by_compiler()

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()
