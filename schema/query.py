"""The root Query type."""

from __future__ import annotations

import strawberry

from resolvers import villages
from schema.village import Village


@strawberry.type
class Query:
    village: Village | None = strawberry.field(
        resolver=villages.village, description="A village by Kemendagri code, e.g. 34.71.01.1001."
    )
