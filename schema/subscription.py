"""The root Subscription type (graphql-transport-ws on /graphql)."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

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
T = TypeVar("T")
log = logging.getLogger("perisai.api")


async def _unless_unavailable(read: Awaitable[T], subscription: str) -> T | None:
    """What `read` reads for one event; None when the database went away meanwhile (a restart, a
    failover): that event is dropped and the subscription goes on, instead of ending with an error."""
    try:
        return await read
    except Exception as exc:
        if unavailable(exc) is None:
            raise
        log.warning("%s: an event was dropped, the database was unavailable when it was read", subscription)
        return None


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
            found = await _unless_unavailable(payload.row(
                info, "Enrollment", "enrollment", lambda b, e, id=enrollment_id: f"{e}.id = {b.add(id)}"),  # type: ignore[misc]
                "enrollmentRecorded")
            if found is not None:  # not visible to this caller (another region, another agent), or dropped
                yield found  # type: ignore[misc]

    @strawberry.subscription(description="The region's coverage now, then whenever agents or enrollments change it.")
    async def coverage_changed(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
    ) -> AsyncGenerator[RegionCoverageType, None]:
        last, first = None, True
        async for level, code in subscriptions.coverage_changes(info, region_code):
            read = payload.value(info, _figures_of(level, code))
            # The first figures are the answer to subscribing: an outage then is an error the client sees.
            figures = await (read if first else _unless_unavailable(read, "coverageChanged"))
            first = False
            if figures is not None and figures != last:
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
            alerts = await _unless_unavailable(
                payload.value(info, lambda b, f, path, ids=ids: alerts_json(b, f, ids, path)), "coverageAlerts")  # type: ignore[misc]
            if alerts:  # none of them visible to this caller, or dropped
                yield alerts
