"""Database models. Region hierarchy: Province > Regency > District > Village (see the README glossary).

The hierarchy is defined by Kemendagri codes, never by spatial containment: real boundary layers
do not nest exactly, so every aggregation groups by code. The Alembic migrations in
`db/migrations/versions` are the source of truth for the schema; these models mirror them.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PROVINCE_CODE = r"^[0-9]{2}$"
REGENCY_CODE = r"^[0-9]{2}\.[0-9]{2}$"
DISTRICT_CODE = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$"
VILLAGE_CODE = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}$"


class Base(DeclarativeBase):
    pass


class AgentStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class EnrollmentStatus(enum.StrEnum):
    ACTIVE = "active"
    LAPSED = "lapsed"


class Programme(enum.StrEnum):
    """BPJS Ketenagakerjaan programmes open to informal workers."""

    JKK = "JKK"  # work-accident insurance
    JKM = "JKM"  # death insurance
    JHT = "JHT"  # old-age savings


def _geometry(kind: str) -> Geometry:
    return Geometry(kind, srid=4326, spatial_index=False)


class _Region:
    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)  # None: known only by code so far
    geom: Mapped[WKBElement | None] = mapped_column(_geometry("MULTIPOLYGON"))
    label_point: Mapped[WKBElement | None] = mapped_column(_geometry("POINT"))
    area_km2: Mapped[float | None]


class _Area(_Region):
    """A region above villages; `villages_outline` is the union of its villages' boundaries (migration 0007)."""

    villages_outline: Mapped[WKBElement | None] = mapped_column(_geometry("MULTIPOLYGON"))


class _MappedArea(_Area):
    """A region drawn whole on the map above it: `map_outline` is its outline as that map draws it."""

    map_outline: Mapped[WKBElement | None] = mapped_column(_geometry("MULTIPOLYGON"))


class Province(_MappedArea, Base):
    __tablename__ = "province"
    __table_args__ = (CheckConstraint(f"code ~ '{PROVINCE_CODE}'", name="province_code_format"),)


class Regency(_MappedArea, Base):
    __tablename__ = "regency"
    province_code: Mapped[str] = mapped_column(ForeignKey("province.code"), index=True)
    __table_args__ = (
        CheckConstraint(f"code ~ '{REGENCY_CODE}'", name="regency_code_format"),
        CheckConstraint("left(code, 2) = province_code", name="regency_code_in_parent"),
    )


class District(_Area, Base):
    __tablename__ = "district"
    regency_code: Mapped[str] = mapped_column(ForeignKey("regency.code"), index=True)
    __table_args__ = (
        CheckConstraint(f"code ~ '{DISTRICT_CODE}'", name="district_code_format"),
        CheckConstraint("left(code, 5) = regency_code", name="district_code_in_parent"),
    )


class Village(_Region, Base):
    __tablename__ = "village"
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    informal_workers: Mapped[int | None] = mapped_column(Integer)
    estimate_source: Mapped[str | None] = mapped_column(Text)
    estimate_year: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint(f"code ~ '{VILLAGE_CODE}'", name="village_code_format"),
        CheckConstraint("left(code, 8) = district_code", name="village_code_in_parent"),
        CheckConstraint("population >= 0", name="village_population_non_negative"),
        CheckConstraint("informal_workers >= 0", name="village_informal_workers_non_negative"),
    )


class Agent(Base):
    """A Perisai agent: a community member who informs and enrolls informal workers."""

    __tablename__ = "agent"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    home_village_code: Mapped[str] = mapped_column(ForeignKey("village.code"), index=True)
    location: Mapped[WKBElement] = mapped_column(_geometry("POINT"))
    reach_m: Mapped[int] = mapped_column(Integer, server_default=text("5000"))
    status: Mapped[AgentStatus] = mapped_column(
        Enum(AgentStatus, name="agent_status", values_callable=lambda e: [m.value for m in e]),
        server_default=text("'active'"),
    )
    joined_on: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    __table_args__ = (CheckConstraint("reach_m > 0 AND reach_m <= 50000", name="agent_reach_m_range"),)


class Participant(Base):
    """An informal worker (BPU). The NIK is kept only as a keyed hash plus its last 4 digits."""

    __tablename__ = "participant"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    nik_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    nik_last4: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(Text)
    village_code: Mapped[str] = mapped_column(ForeignKey("village.code"), index=True)
    occupation: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint("nik_last4 ~ '^[0-9]{4}$'", name="participant_nik_last4_digits"),)


class Enrollment(Base):
    __tablename__ = "enrollment"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    village_code: Mapped[str] = mapped_column(ForeignKey("village.code"), index=True)
    programmes: Mapped[list[Programme]] = mapped_column(
        ARRAY(Enum(Programme, name="programme", values_callable=lambda e: [m.value for m in e]))
    )
    monthly_contribution_idr: Mapped[int] = mapped_column(Integer)
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[EnrollmentStatus] = mapped_column(
        Enum(EnrollmentStatus, name="enrollment_status", values_callable=lambda e: [m.value for m in e]),
        server_default=text("'active'"),
    )
    last_paid_on: Mapped[dt.date | None] = mapped_column(Date)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)  # the device's idempotency key
    client_hash: Mapped[bytes | None] = mapped_column(LargeBinary)  # keyed fingerprint of what it sent
    recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    gps: Mapped[WKBElement | None] = mapped_column(_geometry("POINT"))
    gps_accuracy_m: Mapped[float | None]
    __table_args__ = (
        CheckConstraint("cardinality(programmes) > 0", name="enrollment_has_programme"),
        CheckConstraint("monthly_contribution_idr > 0", name="enrollment_contribution_positive"),
        Index("enrollment_one_active_per_participant", "participant_id", unique=True,
              postgresql_where=text("status = 'active'")),
        Index("enrollment_participant_enrolled_on", "participant_id", "enrolled_on", unique=True),
        Index("enrollment_agent_enrolled_on_idx", "agent_id", "enrolled_on"),
    )


class AuditLog(Base):
    """Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE): who changed what, when, from what to what."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    subject: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(13))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)


class AgentReach(Base):
    """The coverage table: an agent whose reach covers a village's label point (any agent status).

    Maintained by database triggers (migration 0003) in the same transaction as any agent or
    village change; never written by application code.
    """

    __tablename__ = "agent_reach"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("village.code", ondelete="CASCADE"), primary_key=True)
    distance_m: Mapped[float]


class Scenario(Base):
    """A saved what-if: changes to the agents of a region, evaluated when read (migration 0008)."""

    __tablename__ = "scenario"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(String(13))
    changes: Mapped[list] = mapped_column(JSONB)
    overrides: Mapped[list] = mapped_column(JSONB)
    added: Mapped[list] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)
    created_role: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class VillageEnrollments(Base):
    """Active enrollments per village, kept by triggers (migration 0011); never written by application code."""

    __tablename__ = "village_enrollments"
    village_code: Mapped[str] = mapped_column(ForeignKey("village.code", ondelete="CASCADE"), primary_key=True)
    active: Mapped[int]


class HiddenEnrollmentCell(Base):
    """A region or village ('' is Indonesia) whose enrollments callers without personal data may not
    see (small-count suppression, migration 0013); kept by triggers, never written by application code."""

    __tablename__ = "hidden_enrollment_cell"
    code: Mapped[str] = mapped_column(primary_key=True)
