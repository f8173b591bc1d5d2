"""The root Subscription type (graphql-transport-ws on /graphql)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import subscriptions
from resolvers.context import Info
from schema.coverage import RegionCoverageType

if TYPE_CHECKING:
    from schema.enrollments import Enrollment

EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]
REGION = "Kemendagri code; null: everywhere you may see."


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Enrollments as they are committed, by any server process.")
    async def enrollment_recorded(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
    ) -> AsyncGenerator[EnrollmentType, None]:
        async for record in subscriptions.enrollment_recorded(info, region_code):
            yield record  # type: ignore[misc]

    @strawberry.subscription(description="The region's coverage now, then whenever agents or enrollments change it.")
    async def coverage_changed(
        self, info: Info, region_code: Annotated[str | None, strawberry.argument(description=REGION)] = None,
    ) -> AsyncGenerator[RegionCoverageType, None]:
        async for figures in subscriptions.coverage_changed(info, region_code):
            yield figures  # type: ignore[misc]
