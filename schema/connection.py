"""Relay connection and edge types shared by every list, with totalCount and distances."""

from __future__ import annotations

from typing import Generic

import strawberry
from strawberry import relay
from strawberry.relay.types import NodeType


@strawberry.type(description="A row of a list and its cursor.")
class Edge(relay.Edge[NodeType], Generic[NodeType]):
    distance_m: float | None = strawberry.field(
        description="Geodesic metres to the `near` centre, or between agent and village for reach lists; "
        "null otherwise."
    )


@strawberry.type(description="A page of a list (Relay cursor connection).")
class Connection(relay.Connection[NodeType], Generic[NodeType]):
    # Our Edge adds a field (distanceM) to relay's: a narrower type than the base declares.
    edges: list[Edge[NodeType]] = strawberry.field(description="The rows of this page, in list order.")  # type: ignore[assignment]

    total_count: int = strawberry.field(description="Rows in the whole list (all pages) that you may see.")
