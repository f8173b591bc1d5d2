"""Plain typed rows returned by query functions (no ORM instances leave the db layer)."""

from __future__ import annotations

import datetime as dt
import enum
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


@dataclass(frozen=True, slots=True)
class NearestAgent:
    agent_id: int
    distance_m: float


def _penetration(enrollments: int, workers: int | None) -> float | None:
    return enrollments / workers if workers else None


@dataclass(frozen=True, slots=True)
class Activity:
    """Which agents count: active by status, and with `within_days` also recently enrolling."""

    within_days: int | None = None
    as_of: dt.date | None = None  # None: today (the database's CURRENT_DATE)

    def params(self) -> dict[str, Any]:
        return {"within_days": self.within_days, "as_of": self.as_of}


@dataclass(frozen=True, slots=True)
class VillageCoverage:
    """One village under the coverage definitions of `db.queries.coverage`."""

    activity: Activity  # which agents counted
    code: str
    informal_workers: int | None  # None: no estimate
    agent_count: int  # counting agents whose reach covers the label point
    agents_any_status: int  # agents of any status or activity whose reach covers it
    active_enrollments: int
    nearest_agent: NearestAgent | None  # nearest counting agent, in reach or not

    @property
    def covered(self) -> bool:
        return self.agent_count > 0

    @property
    def penetration(self) -> float | None:
        return _penetration(self.active_enrollments, self.informal_workers)

    @property
    def uncovered_workers(self) -> int | None:
        return None if self.informal_workers is None else max(0, self.informal_workers - self.active_enrollments)


@dataclass(frozen=True, slots=True)
class CoverageFigures:
    """Sums over the villages of a region (code None, level None: Indonesia)."""

    code: str | None
    level: Level | None
    name: str | None
    villages: int
    covered_villages: int
    villages_without_estimate: int
    informal_workers: int  # over villages with an estimate
    workers_in_reach: int
    active_enrollments: int
    estimated_enrollments: int  # active enrollments in villages with an estimate
    uncovered_workers: int
    active_agents: int  # counting agents whose home village is in the region
    children: tuple[CoverageFigures, ...] = ()
    # Small-count suppression (migration 0013): the enrollment figures may not be shown to this
    # caller; penetration and enrollments per agent are then None, and pages say "not shown".
    suppressed: bool = False

    @property
    def covered_share(self) -> float | None:
        """Covered villages / villages (0–1)."""
        return self.covered_villages / self.villages if self.villages else None

    @property
    def penetration(self) -> float | None:
        return None if self.suppressed else _penetration(self.estimated_enrollments, self.informal_workers)

    @property
    def enrollments_per_agent(self) -> float | None:
        if self.suppressed or not self.active_agents:
            return None
        return self.active_enrollments / self.active_agents


class FlagReason(enum.StrEnum):
    """Why a field record is flagged (db/queries/data_quality.py defines each)."""

    GPS_OUTSIDE_VILLAGE = "GPS_OUTSIDE_VILLAGE"
    OUTSIDE_AGENT_REACH = "OUTSIDE_AGENT_REACH"
    NIK_SHARED_BY_AGENTS = "NIK_SHARED_BY_AGENTS"
    IDENTICAL_GPS_BURST = "IDENTICAL_GPS_BURST"
    AGENT_INACTIVE = "AGENT_INACTIVE"


@dataclass(frozen=True, slots=True)
class DataQualityRecord:
    reason: FlagReason
    agent_id: int
    village_code: str  # the enrollment's village, or the inactive agent's home village
    enrollment_id: int | None
    distance_m: float | None  # how far outside: from the village (GPS) or from the agent's base
    allowed_m: float | None  # the GPS accuracy, or FAR_FACTOR × reach
    count: int | None  # agents sharing the NIK, or enrollments in the burst
    last_enrolled_on: dt.date | None  # AGENT_INACTIVE: the agent's latest enrollment, if any
