"""The audit log: one append-only row per change made through the API, in the change's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer


@dataclass(frozen=True)
class AuditEntry:
    viewer: Viewer
    action: str  # the mutation, e.g. recordEnrollment
    entity: str  # agent | enrollment
    entity_id: str
    region_code: str | None  # the village the change concerns, for scoped reading
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _json(value: dict[str, Any] | None) -> str | None:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() if value is not None else None


async def write_audit(session: AsyncSession, entries: list[AuditEntry]) -> None:
    if not entries:
        return
    await session.execute(text("""
        INSERT INTO audit_log (subject, role, action, entity, entity_id, region_code, before, after)
        SELECT * FROM unnest(CAST(:subject AS text[]), CAST(:role AS text[]), CAST(:action AS text[]),
                             CAST(:entity AS text[]), CAST(:entity_id AS text[]), CAST(:region AS text[]),
                             CAST(:before AS jsonb[]), CAST(:after AS jsonb[]))
    """), {
        "subject": [e.viewer.subject for e in entries], "role": [e.viewer.role.value for e in entries],
        "action": [e.action for e in entries], "entity": [e.entity for e in entries],
        "entity_id": [e.entity_id for e in entries], "region": [e.region_code for e in entries],
        "before": [_json(e.before) for e in entries], "after": [_json(e.after) for e in entries],
    })
