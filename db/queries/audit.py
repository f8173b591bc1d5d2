"""Reading the audit log, newest first, by the region each change concerns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


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


# Entries about any region of :lo/:hi/:exact (exact null: everything), newer than :after.
AUDIT_PAGE = """
        SELECT * FROM audit_log a
        WHERE EXISTS (SELECT 1 FROM unnest(CAST(:lo AS text[]), CAST(:hi AS text[]), CAST(:exact AS text[])) AS r(lo, hi, exact)
                      WHERE r.exact IS NULL OR a.region_code = r.exact
                         OR (a.region_code ~>=~ r.lo AND a.region_code ~<~ r.hi))
          AND (CAST(:after AS bigint) IS NULL OR a.id < CAST(:after AS bigint))
"""
