"""The root Subscription type (graphql-transport-ws on /graphql)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Annotated

import strawberry

from compiler import payload
from compiler.alerts import alerts_json
from compiler.coverage import region_figures
from compiler.plan import Field
from compiler.sql import Build, Path
from db.records import Activity
from db.regions import Level
from resolvers import subscriptions
from resolvers.context import Info
from resolvers.errors import unavailable
from schema.alerts import CoverageAlert
from schema.coverage import RegionCoverageType

if TYPE_CHECKING:
    from schema.enrollments import Enrollment

EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]
REGION = "Kemendagri code; null: everywhere you may see."


def _figures_of(level: Level | None, code: str | None) -> Callable[[Build, Field, Path], str]:
    """The compiled coverage figures of one region (the whole country when `code` is None)."""
    def compile_figures(b: Build, f: Field, path: Path) -> str:
        return region_figures(b, f, level, b.add(code, "text") if code else "NULL", Activity(), path)

    return compile_figures


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Enrollments as they are committed, by any server process.")
    async def enrollment_recorded(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
    ) -> AsyncGenerator[EnrollmentType, None]:
        async for enrollment_id in subscriptions.enrollments_recorded(info, region_code):
            try:
                found = await payload.row(info, "Enrollment", "enrollment",
                                          lambda b, e, id=enrollment_id: f"{e}.id = {b.add(id)}")  # type: ignore[misc]
            except Exception as exc:
                if unavailable(exc) is None:
                    raise
                continue  # committed just before the primary went away: dropped, the subscription goes on
            if found is not None:  # not visible to this caller (another region, another agent)
                yield found  # type: ignore[misc]

    @strawberry.subscription(description="The region's coverage now, then whenever agents or enrollments change it.")
    async def coverage_changed(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
    ) -> AsyncGenerator[RegionCoverageType, None]:
        last = None
        async for level, code in subscriptions.coverage_changes(info, region_code):
            figures = await payload.value(info, _figures_of(level, code))
            if figures != last:
                last = figures
                yield figures

    @strawberry.subscription(description="Coverage alerts as they are raised (planners; managers inside their scope), "
                             "gathered: each message lists the alerts raised or updated within `digestSeconds` of the "
                             "first one, so a mass deactivation arrives as one message.")
    async def coverage_alerts(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
        digest_seconds: Annotated[int, strawberry.argument(description="0 to 3600; 0: one message per alert.")] = 30,
    ) -> AsyncGenerator[list[CoverageAlert], None]:
        async for ids in subscriptions.alerts_raised(info, region_code, digest_seconds):
            alerts = await payload.value(info, lambda b, f, path, ids=ids: alerts_json(b, f, ids, path))  # type: ignore[misc]
            if alerts:  # none of them visible to this caller
                yield alerts
