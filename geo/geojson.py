"""Validation of GeoJSON geometries sent by clients (RFC 7946: longitude first, WGS 84)."""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from shapely.geometry import shape

__all__ = ["MAX_VERTICES", "GeoJSONError", "validated_geometry"]

MAX_VERTICES = 100_000

# How deeply each type nests its positions: Point 0, LineString 1, Polygon 2, MultiPolygon 3.
_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


class GeoJSONError(ValueError):
    """What is wrong with a geometry, and where (`coordinates[0][3]`)."""


def validated_geometry(value: Any) -> str:
    """The geometry as compact GeoJSON text, or GeoJSONError saying what to fix.

    >>> validated_geometry({"type": "Point", "coordinates": [110.4, -7.8]})
    '{"type": "Point", "coordinates": [110.4, -7.8]}'
    >>> validated_geometry({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]})
    Traceback (most recent call last):
    ...
    geo.geojson.GeoJSONError: coordinates[0]: a polygon ring needs at least 4 positions, got 3
    """
    if not isinstance(value, dict):
        raise GeoJSONError("must be a GeoJSON geometry object like {\"type\": \"Polygon\", \"coordinates\": …}")
    kind = value.get("type")
    if kind not in _DEPTH:
        raise GeoJSONError(f"type must be one of {', '.join(_DEPTH)}; got {kind!r}")
    coordinates = value.get("coordinates")
    count = _check(coordinates, _DEPTH[kind], kind, "coordinates")
    if count > MAX_VERTICES:
        raise GeoJSONError(f"has {count} vertices; at most {MAX_VERTICES} are accepted, simplify it first")
    geometry = shape({"type": kind, "coordinates": coordinates})
    if geometry.is_empty:
        raise GeoJSONError("is empty")
    if not geometry.is_valid:
        raise GeoJSONError(f"is not a valid {kind}: {shapely.is_valid_reason(geometry)}")
    return json.dumps({"type": kind, "coordinates": coordinates})


def _check(node: Any, depth: int, kind: str, path: str) -> int:
    """Check the nesting, positions and rings below `path`; return the number of positions."""
    if depth == 0:
        _check_position(node, path)
        return 1
    if not isinstance(node, list) or not node:
        raise GeoJSONError(f"{path}: must be a non-empty array")
    count = sum(_check(child, depth - 1, kind, f"{path}[{i}]") for i, child in enumerate(node))
    is_ring = depth == 1 and kind in ("Polygon", "MultiPolygon")
    if is_ring:
        if len(node) < 4:
            raise GeoJSONError(f"{path}: a polygon ring needs at least 4 positions, got {len(node)}")
        if node[0][:2] != node[-1][:2]:
            raise GeoJSONError(f"{path}: ring is not closed; repeat the first position at the end")
    if depth == 1 and kind in ("LineString", "MultiLineString") and len(node) < 2:
        raise GeoJSONError(f"{path}: a line needs at least 2 positions")
    return count


def _check_position(position: Any, path: str) -> None:
    if not isinstance(position, list) or len(position) not in (2, 3) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in position
    ):
        raise GeoJSONError(f"{path}: a position is [longitude, latitude] in numbers")
    lng, lat = position[0], position[1]
    if not -180 <= lng <= 180:
        raise GeoJSONError(f"{path}: longitude {lng} is outside -180..180")
    if not -90 <= lat <= 90:
        raise GeoJSONError(f"{path}: latitude {lat} is outside -90..90")
