"""Enrollments and participants."""

from __future__ import annotations

from typing import Any

from db.filters import NO_FILTER, ListFilter
from db.queries.enrollments import EnrollmentsOf
from db.records import EnrollmentRecord, ParticipantRecord
from resolvers.context import Info
from resolvers.errors import Forbidden
from resolvers.pagination import Page, PageArgs, connection, key_types


async def enrollment_or_none(info: Info, id: int) -> EnrollmentRecord | None:
    return await info.context.loaders.enrollment.load((None, id))


async def participant_or_none(info: Info, id: int) -> ParticipantRecord | None:
    return await info.context.loaders.participant.load((None, id))


async def enrollments(
    info: Info, of: EnrollmentsOf, parent: Any, filter: ListFilter = NO_FILTER, page: PageArgs = PageArgs()
) -> Page[EnrollmentRecord]:
    if filter.name_contains is not None and not info.context.viewer.sees_personal_data:
        raise Forbidden("searching by participant name uses personal data, which your role cannot see",
                        field="filter.nameContains")
    loaders = info.context.loaders
    keys = key_types(int, by_distance=filter.near is not None)
    return await connection(loaders.enrollment_pages, loaders.enrollment_counts, of, parent, filter, page, keys)


async def village_enrollments(info: Info, code: str, filter: ListFilter, page: PageArgs) -> Page[EnrollmentRecord]:
    return await enrollments(info, EnrollmentsOf.VILLAGE, code, filter, page)


async def agent_enrollments(info: Info, agent_id: int, filter: ListFilter, page: PageArgs) -> Page[EnrollmentRecord]:
    return await enrollments(info, EnrollmentsOf.AGENT, agent_id, filter, page)


async def participant_enrollments(info: Info, participant_id: int, filter: ListFilter, page: PageArgs) -> Page[EnrollmentRecord]:
    return await enrollments(info, EnrollmentsOf.PARTICIPANT, participant_id, filter, page)


async def all_enrollments(info: Info, filter: ListFilter, page: PageArgs) -> Page[EnrollmentRecord]:
    return await enrollments(info, EnrollmentsOf.ALL, None, filter, page)
