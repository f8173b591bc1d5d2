"""Plain typed rows returned by query functions (no ORM instances leave the db layer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GeoJSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class VillageRecord:
    code: str
    name: str | None
    district_code: str
    geometry: GeoJSON | None
    label_point: GeoJSON | None
    area_km2: float | None
    population: int | None
    informal_workers: int | None
    estimate_source: str | None
    estimate_year: int | None
