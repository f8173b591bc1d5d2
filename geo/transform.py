"""Coordinate transformations. Every transformer is always_xy: (x, y) = (longitude, latitude)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

__all__ = ["is_wgs84", "to_wgs84", "transformer"]

WGS84 = 4326


@lru_cache(maxsize=32)
def transformer(src: str, dst: str | int = WGS84) -> Transformer:
    """A cached transformer taking and returning (lon, lat) order whatever the CRS's axis order."""
    return Transformer.from_crs(src, dst, always_xy=True)


def is_wgs84(crs: str | None) -> bool:
    """True for no CRS (GeoJSON's default), EPSG:4326 and OGC:CRS84."""
    if crs is None:
        return True
    parsed = CRS.from_user_input(crs)
    return parsed.equals(CRS.from_epsg(WGS84), ignore_axis_order=True)


def to_wgs84(geometries: np.ndarray, crs: str) -> np.ndarray:
    """Reproject an array of Shapely geometries from `crs` to WGS84 longitude/latitude."""
    tr = transformer(crs)
    return shapely.transform(geometries, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
