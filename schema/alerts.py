"""Coverage alerts: villages left without an active agent, districts whose coverage fell below a
threshold — raised by the database in the transaction of the change (migration 0010)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from compiler.payload import compiled_as
from resolvers.context import Info
from schema.compiled import by_compiler

if TYPE_CHECKING:
    from schema.regions import District, Village

VillageType = Annotated["Village", strawberry.lazy("schema.regions")]
DistrictType = Annotated["District", strawberry.lazy("schema.regions")]


@strawberry.enum(description="What an alert reports.")
class AlertKind(enum.Enum):
    VILLAGES_UNREACHED = strawberry.enum_value("villages_unreached", description="Villages lost their last active agent.")
    DISTRICT_BELOW_THRESHOLD = strawberry.enum_value(
        "district_below_threshold", description="The district's share of covered villages fell below the threshold (0.5).")


@strawberry.enum(description="The change that caused an alert.")
class AlertCause(enum.Enum):
    AGENT_DEACTIVATED = "agent_deactivated"
    AGENT_MOVED = "agent_moved"
    REACH_CHANGED = "reach_changed"
    AGENT_REMOVED = "agent_removed"
    AGENT_INACTIVE = strawberry.enum_value("agent_inactive", description="Its last enrollment is older than the "
                                           "window of `perisai alerts --inactive-days` (run daily).")


@strawberry.type(description="An alert; changes to the same district for the same cause within 10 minutes are "
                 "gathered into one (a digest: `changes` counts them).")
class CoverageAlert:
    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "CoverageAlert")

    id: strawberry.ID
    kind: AlertKind
    causes: list[AlertCause]
    district_code: str
    village_codes: list[str] = strawberry.field(description="The villages concerned, by code.")
    informal_workers: int = strawberry.field(description="Estimated informal workers of those villages.")
    agent_codes: list[str] = strawberry.field(description="The agents whose change caused it.")
    covered_share_before: float | None = strawberry.field(description="District alerts: the share before.")
    covered_share_after: float | None
    changes: int = strawberry.field(description="Writes gathered into this alert.")
    raised_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field
    async def district(self, root: strawberry.Parent[Any], info: Info) -> DistrictType | None:
        return by_compiler()

    @strawberry.field(description="The villages concerned (those you may see).")
    async def villages(self, root: strawberry.Parent[Any], info: Info) -> list[VillageType]:
        return by_compiler()
