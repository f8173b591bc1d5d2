"""Audit log entries."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON


@strawberry.type(description="One change made through the API (the log is append-only).")
class AuditEntry:
    at: dt.datetime
    subject: str = strawberry.field(description="The token subject who made the change.")
    role: str
    action: str = strawberry.field(description="The mutation, e.g. updateAgent.")
    entity: str = strawberry.field(description="agent or enrollment.")
    entity_id: str = strawberry.field(description="The agent code or enrollment number.")
    region_code: str | None = strawberry.field(description="The village the change concerns.")
    before: JSON | None
    after: JSON | None
