"""Custom scalars (mapped in the schema config: `SCALARS`)."""

from __future__ import annotations

from typing import Any, NewType

import strawberry

from resolvers.errors import BadUserInput

GeoJSON = NewType("GeoJSON", dict[str, Any])


def _parse(value: Any) -> dict[str, Any]:
    # Shape checks (types, ranges, rings, vertex count) happen where the argument is used, so the
    # error can name the argument; here only "is it an object at all".
    if not isinstance(value, dict):
        raise BadUserInput('a GeoJSON geometry must be an object like {"type": "Point", "coordinates": [110.4, -7.8]}')
    return value


SCALARS = {
    GeoJSON: strawberry.scalar(
        name="GeoJSON",
        description="A GeoJSON geometry object (RFC 7946): longitude first, WGS 84.",
        serialize=lambda value: value,
        parse_value=_parse,
    )
}
