"""SQL expression helpers for PostGIS geography (metres on the WGS 84 ellipsoid)."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, cast

# A bare `::geography` cast. GeoAlchemy2's default Geography type renders
# `geography(GEOMETRY,-1)`, an expression the `(column::geography)` GiST indexes do not match.
_GEOGRAPHY = Geography(geometry_type=None, srid=-1, spatial_index=False)


def geography(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(expression, _GEOGRAPHY)


# Metres per degree of latitude. A degree of longitude is cos(latitude) as long, at least 0.98 of
# this anywhere in Indonesia (|latitude| < 11.5°), so one degree tolerance serves both axes
# (geometry(simplifyM) converts its metres with it).
METRES_PER_DEGREE = 111_320.0
