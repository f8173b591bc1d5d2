"""Custom scalars."""

from __future__ import annotations

from typing import Any, NewType

import strawberry

GeoJSON = strawberry.scalar(
    NewType("GeoJSON", dict[str, Any]),
    description="A GeoJSON geometry object (RFC 7946): longitude first, WGS 84.",
    serialize=lambda value: value,
    parse_value=lambda value: value,
)
