"""Moving an enrollment's status and last-paid date (lapse, payment), with the audit trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Role, Viewer, analyses
from db.writes.audit import AuditEntry, write_audit
from db.writes.refused import WriteRefused


async def _locked(session: AsyncSession, viewer: Viewer, enrollment_id: int) -> tuple[str, dt.date, dt.date | None, str]:
    """(status, enrolled_on, last_paid_on, village) of an enrollment the caller may change, locked."""
    row = (await session.execute(text("""
        SELECT e.status::text AS status, e.enrolled_on, e.last_paid_on, e.village_code, a.code AS agent
        FROM enrollment e JOIN agent a ON a.id = e.agent_id WHERE e.id = :id FOR UPDATE OF e
    """), {"id": enrollment_id})).first()
    allowed = row is not None and (
        viewer.role is Role.ADMIN
        or (viewer.role is Role.MANAGER and analyses(viewer, row.village_code))
        or (viewer.role is Role.AGENT and row.agent == viewer.agent_code)
    )
    if row is None or not allowed:
        raise WriteRefused("NOT_FOUND", f"no enrollment {enrollment_id} that you may change", "id")
    return row.status, row.enrolled_on, row.last_paid_on, row.village_code


def _date(value: dt.date, enrolled_on: dt.date, field: str) -> None:
    if value > dt.date.today():
        raise WriteRefused("BAD_USER_INPUT", "is in the future", field)
    if value < enrolled_on:
        raise WriteRefused("BAD_USER_INPUT", f"is before the enrollment began ({enrolled_on})", field)


async def lapse_enrollment(session: AsyncSession, viewer: Viewer, enrollment_id: int, on: dt.date) -> None:
    status, enrolled_on, paid, village = await _locked(session, viewer, enrollment_id)
    _date(on, enrolled_on, "on")
    if status != "active":
        raise WriteRefused("CONFLICT", f"enrollment {enrollment_id} has already lapsed", "id")
    await session.execute(text("UPDATE enrollment SET status = 'lapsed' WHERE id = :id"), {"id": enrollment_id})
    await write_audit(session, [AuditEntry(viewer, "lapseEnrollment", "enrollment", str(enrollment_id), village,
                                           {"status": status}, {"status": "lapsed", "on": on.isoformat()})])
    await session.execute(text("SELECT pg_notify('perisai_events', :e)"),
                          {"e": f'{{"kind": "coverage", "village": "{village}"}}'})


async def record_payment(session: AsyncSession, viewer: Viewer, enrollment_id: int, paid_on: dt.date) -> None:
    status, enrolled_on, paid, village = await _locked(session, viewer, enrollment_id)
    _date(paid_on, enrolled_on, "paidOn")
    if status != "active":
        raise WriteRefused("CONFLICT", f"enrollment {enrollment_id} has lapsed; record a new enrollment", "id")
    latest = max(paid_on, paid) if paid else paid_on  # a late report of an old payment never moves the date back
    await session.execute(text("UPDATE enrollment SET last_paid_on = :paid WHERE id = :id"),
                          {"id": enrollment_id, "paid": latest})
    await write_audit(session, [AuditEntry(viewer, "recordPayment", "enrollment", str(enrollment_id), village,
                                           {"lastPaidOn": paid.isoformat() if paid else None},
                                           {"lastPaidOn": latest.isoformat()})])
