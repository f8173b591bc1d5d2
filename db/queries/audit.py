"""Reading the audit log, newest first, by the region each change concerns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.coverage import code_range
from db.queries.paging import Item, Key, Slice


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: dt.datetime
    subject: str
    role: str
    action: str
    entity: str
    entity_id: str
    region_code: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def audit_page(
    session: AsyncSession, region_codes: list[str | None], limit: int, after: Key | None
) -> Slice[AuditRecord]:
    """Entries about any of `region_codes` (None: everything), newest first."""
    ranges = [code_range(c) for c in region_codes]
    stmt = text(AUDIT_PAGE + " ORDER BY a.id DESC LIMIT :limit")
    rows = (await session.execute(stmt, {
        "lo": [r["lo"] for r in ranges], "hi": [r["hi"] for r in ranges],
        "exact": [c for c in region_codes],  # a region's own code matches too; None matches all
        "after": after[0] if after else None, "limit": limit + 1,
    })).all()
    items = [Item(AuditRecord(r.id, r.at, r.subject, r.role, r.action, r.entity, r.entity_id, r.region_code,
                              r.before, r.after), (r.id,)) for r in rows]
    return Slice(items[:limit], len(items) > limit)


# Entries about any region of :lo/:hi/:exact (exact null: everything), newer than :after.
AUDIT_PAGE = """
        SELECT * FROM audit_log a
        WHERE EXISTS (SELECT 1 FROM unnest(CAST(:lo AS text[]), CAST(:hi AS text[]), CAST(:exact AS text[])) AS r(lo, hi, exact)
                      WHERE r.exact IS NULL OR a.region_code = r.exact
                         OR (a.region_code ~>=~ r.lo AND a.region_code ~<~ r.hi))
          AND (CAST(:after AS bigint) IS NULL OR a.id < CAST(:after AS bigint))
"""
