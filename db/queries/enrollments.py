"""Enrollments and participants: lookups and lists per village, agent or participant."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Row, Select, String, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, enrollment_visible, participant_visible
from db.filters import ListFilter, common, distance_to, spatial
from db.models import Enrollment, EnrollmentStatus, Participant, Village
from db.queries.paging import Listing, Slice, Window, count_rows, fetch_slices, one_of
from db.records import EnrollmentRecord, ParticipantRecord


class EnrollmentsOf(enum.Enum):
    ALL = "all"  # parents: [None]
    VILLAGE = "village"  # parents: village codes
    AGENT = "agent"  # parents: agent ids
    PARTICIPANT = "participant"  # parents: participant ids


def _record(row: Row[Any]) -> EnrollmentRecord:
    return EnrollmentRecord(
        row.id, row.participant_id, row.agent_id, row.village_code, [p.value for p in row.programmes],
        row.monthly_contribution_idr, row.enrolled_on, row.status.value, row.last_paid_on,
    )


def _status(filter: ListFilter) -> ColumnElement[bool]:
    return Enrollment.status == EnrollmentStatus(filter.status) if filter.status is not None else true()


def _base(viewer: Viewer, filter: ListFilter) -> Select[Any]:
    stmt = select(
        Enrollment.id.label("id"), Enrollment.participant_id.label("participant_id"),
        Enrollment.agent_id.label("agent_id"), Enrollment.village_code.label("village_code"),
        Enrollment.programmes.label("programmes"),
        Enrollment.monthly_contribution_idr.label("monthly_contribution_idr"),
        Enrollment.enrolled_on.label("enrolled_on"), Enrollment.status.label("status"),
        Enrollment.last_paid_on.label("last_paid_on"),
    ).where(enrollment_visible(viewer), common(filter, Enrollment.village_code, None), _status(filter))
    if filter.name_contains is not None:  # the participant's name
        stmt = stmt.join(Participant, Participant.id == Enrollment.participant_id).where(
            Participant.name.icontains(filter.name_contains, autoescape=True)
        )
    if filter.bbox is not None or filter.intersects is not None or filter.near is not None:
        stmt = stmt.join(Village, Village.code == Enrollment.village_code).where(
            spatial(filter, Village.geom, Village.label_point)
        )
    return stmt


def listing(viewer: Viewer, filter: ListFilter, of: EnrollmentsOf) -> Listing[EnrollmentRecord]:
    stmt = _base(viewer, filter)
    distance = distance_to(filter, Village.label_point)
    keys = (Enrollment.id,) if distance is None else (distance, Enrollment.id)
    parent: dict[EnrollmentsOf, tuple[ColumnElement[Any], Any]] = {
        EnrollmentsOf.VILLAGE: (Enrollment.village_code, String()),
        EnrollmentsOf.AGENT: (Enrollment.agent_id, BigInteger()),
        EnrollmentsOf.PARTICIPANT: (Enrollment.participant_id, BigInteger()),
    }
    if of in parent:
        column, type_ = parent[of]
        return Listing(stmt, keys, _record, distance, column, type_)
    return Listing(stmt, keys, _record, distance)


async def enrollments_by_ids(session: AsyncSession, viewer: Viewer, ids: Sequence[int]) -> list[EnrollmentRecord]:
    stmt = _base(viewer, ListFilter()).where(one_of(Enrollment.id, ids, BigInteger()))
    return [_record(r) for r in (await session.execute(stmt)).all()]


async def enrollment_pages(
    session: AsyncSession, viewer: Viewer, of: EnrollmentsOf, parents: Sequence[Any], filter: ListFilter,
    window: Window,
) -> dict[Any, Slice[EnrollmentRecord]]:
    return await fetch_slices(session, listing(viewer, filter, of), parents, window)


async def enrollment_counts(
    session: AsyncSession, viewer: Viewer, of: EnrollmentsOf, parents: Sequence[Any], filter: ListFilter
) -> dict[Any, int]:
    return await count_rows(session, listing(viewer, filter, of), parents)


async def participants_by_ids(
    session: AsyncSession, viewer: Viewer, ids: Sequence[int]
) -> list[ParticipantRecord]:
    stmt = select(
        Participant.id, Participant.nik_last4, Participant.name, Participant.village_code, Participant.occupation
    ).where(
        one_of(Participant.id, ids, BigInteger()), participant_visible(viewer, Participant.id, Participant.village_code)
    )
    return [ParticipantRecord(*r) for r in (await session.execute(stmt)).all()]
