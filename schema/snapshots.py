"""Coverage snapshots: what coverage stood on a day, what changed since, and a region's trend."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from compiler.payload import compiled_as
from resolvers.context import Info
from schema.compiled import by_compiler

if TYPE_CHECKING:
    from schema.regions import Village

VillageType = Annotated["Village", strawberry.lazy("schema.regions")]

SUPPRESSED_CHANGE = ("True when this caller gets no enrollment figures for a day here (small-count suppression, as that day "
                     "hid them): that day's activeEnrollments and penetration are null, and the village is listed for its "
                     "reach only, never for its penetration. Snapshots taken before suppression existed hide every figure.")
SUPPRESSED_TREND = ("True when this caller gets no enrollment figures for the region on that day (small-count suppression, as "
                    "that day hid them; snapshots taken before suppression existed hide every figure).")


@strawberry.type(description="Coverage as it stood on `asOf` (nominal: active agents count), kept per village "
                 "and per agent with its inputs.")
class CoverageSnapshot:
    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "CoverageSnapshot")

    as_of: dt.date
    taken_at: dt.datetime
    taken_by: str
    boundary_version: str = strawberry.field(description="Fingerprint of the village codes and label points reach "
                                             "was measured to: differs when boundaries were re-imported.")
    villages: int
    agents: int


@strawberry.enum(description="How a village's reach changed.")
class ReachChange(enum.Enum):
    REACHED = "REACHED"
    LOST = "LOST"


@strawberry.enum(description="Why a village changed.")
class ChangeReason(enum.Enum):
    NEW_AGENT = strawberry.enum_value("NEW_AGENT", description="An agent recruited since reaches it.")
    AGENT_ACTIVATED = strawberry.enum_value("AGENT_ACTIVATED", description="An agent that was inactive is active again.")
    AGENT_DEACTIVATED = strawberry.enum_value("AGENT_DEACTIVATED", description="An agent that reached it stopped.")
    AGENT_REMOVED = strawberry.enum_value("AGENT_REMOVED", description="An agent that reached it was deleted.")
    AGENT_MOVED = strawberry.enum_value("AGENT_MOVED", description="An agent moved its base.")
    REACH_CHANGED = strawberry.enum_value("REACH_CHANGED", description="An agent's reach changed.")
    BOUNDARY_CHANGED = strawberry.enum_value("BOUNDARY_CHANGED", description="The village's label point moved "
                                             "(boundaries re-imported).")
    NEW_ESTIMATE = strawberry.enum_value("NEW_ESTIMATE", description="Its informal-worker estimate changed.")
    ENROLLMENTS_CHANGED = strawberry.enum_value("ENROLLMENTS_CHANGED", description="Its active enrollments changed.")


@strawberry.type(description="A village whose reach changed, or whose penetration moved by at least the threshold.")
class CoverageChange:
    code: str
    reach: ReachChange | None = strawberry.field(description="Null: still reached (or still not); penetration moved.")
    agents_before: int = strawberry.field(description="Active agents reaching it then.")
    agents_after: int
    informal_workers_before: int | None
    informal_workers_after: int | None
    active_enrollments_before: int | None
    active_enrollments_after: int | None
    penetration_before: float | None
    penetration_after: float | None
    reasons: list[ChangeReason] = strawberry.field(description="Every cause found, sorted.")
    enrollments_suppressed: bool = strawberry.field(description=SUPPRESSED_CHANGE)

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()


@strawberry.type(description="A region's figures in one snapshot.")
class CoverageTrendPoint:
    as_of: dt.date
    villages: int
    covered_villages: int
    covered_share: float | None
    informal_workers: int
    workers_in_reach: int
    active_enrollments: int | None = strawberry.field(description="Null when suppressed (see enrollmentsSuppressed).")
    penetration: float | None = strawberry.field(description="Active enrollments / informal workers, over villages "
                                                 "with an estimate.")
    enrollments_suppressed: bool = strawberry.field(description=SUPPRESSED_TREND)
