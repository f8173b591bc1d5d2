"""Plain typed rows returned by query functions (no ORM instances leave the db layer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from db.regions import Level

GeoJSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LonLat:
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class RegionRecord:
    """A province, regency or district."""

    level: Level
    code: str
    name: str | None
    parent_code: str | None
    area_km2: float | None
    label_point: LonLat | None


@dataclass(frozen=True, slots=True)
class VillageRecord:
    level: ClassVar[Level] = Level.VILLAGE
    code: str
    name: str | None
    district_code: str
    area_km2: float | None
    label_point: LonLat | None
    population: int | None
    informal_workers: int | None
    estimate_source: str | None
    estimate_year: int | None


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: int
    code: str
    name: str
    phone: str | None
    home_village_code: str
    location: LonLat
    reach_m: int
    status: str
    joined_on: dt.date


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    id: int
    nik_last4: str
    name: str
    village_code: str
    occupation: str | None


@dataclass(frozen=True, slots=True)
class EnrollmentRecord:
    id: int
    participant_id: int
    agent_id: int
    village_code: str
    programmes: list[str]
    monthly_contribution_idr: int
    enrolled_on: dt.date
    status: str
    last_paid_on: dt.date | None
