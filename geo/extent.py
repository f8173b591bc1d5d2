"""Geographic extents and coordinate sanity checks (longitude first, as in GeoJSON)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["INDONESIA", "BBox", "coordinate_problem"]


class BBox(NamedTuple):
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    def contains(self, other: BBox) -> bool:
        return (
            self.min_lng <= other.min_lng and other.max_lng <= self.max_lng
            and self.min_lat <= other.min_lat and other.max_lat <= self.max_lat
        )

    def swapped(self) -> BBox:
        return BBox(self.min_lat, self.min_lng, self.max_lat, self.max_lng)


# Indonesia's land and territorial waters with a margin: 94..142 E, 11.5 S..6.5 N.
INDONESIA = BBox(94.0, -11.5, 142.0, 6.5)
WORLD = BBox(-180.0, -90.0, 180.0, 90.0)


def coordinate_problem(bounds: BBox, extent: BBox = INDONESIA) -> str | None:
    """Why coordinates with these bounds cannot be Indonesian lng/lat, or None when they can.

    >>> coordinate_problem(BBox(110.3, -7.9, 110.5, -7.7)) is None
    True
    >>> coordinate_problem(BBox(-7.9, 110.3, -7.7, 110.5))
    'coordinates look swapped (latitude, longitude order): x -7.9000..-7.7000, y 110.3000..110.5000; GeoJSON and GIS files store longitude first. Swap the axes and import again'
    """
    if extent.contains(bounds):
        return None
    if extent.contains(bounds.swapped()):
        return (
            "coordinates look swapped (latitude, longitude order): "
            f"x {bounds.min_lng:.4f}..{bounds.max_lng:.4f}, y {bounds.min_lat:.4f}..{bounds.max_lat:.4f}; "
            "GeoJSON and GIS files store longitude first. Swap the axes and import again"
        )
    if not WORLD.contains(bounds):
        return (
            f"coordinates out of range (x {bounds.min_lng:.4f}..{bounds.max_lng:.4f}, "
            f"y {bounds.min_lat:.4f}..{bounds.max_lat:.4f}); longitude must be within -180..180 "
            "and latitude within -90..90. Is the file in a projected CRS without a .prj?"
        )
    return (
        f"lies outside Indonesia (x {bounds.min_lng:.4f}..{bounds.max_lng:.4f}, "
        f"y {bounds.min_lat:.4f}..{bounds.max_lat:.4f}; expected lng 94..142, lat -11.5..6.5). "
        "Check that this is the right file"
    )
