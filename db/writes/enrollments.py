"""Recording enrollments from devices: idempotent by client id, per-item results, one transaction.

A batch is checked item by item (format, village, who may record there, existing active
enrollment), then inserted with `ON CONFLICT DO NOTHING`, so a race with another request (the same
item replayed concurrently) never fails the batch: the loser re-reads and reports a duplicate.
Everything commits together, so a client that lost the response can resend the whole batch and
get `duplicate` for what was already saved: exactly one row per client id.

Who may record where: an agent records its own enrollments, in a village its reach covers
(agent_reach) or in its home district (its administrative patch; villages at the edge of the
district are often just outside the circle of the agent's base). A manager records in villages
inside its scope, naming the recording agent, whose home village must be inside the scope too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Role, Viewer, analyses
from db.nik import nik_hash, nik_last4, nik_problem, normalise
from db.regions import Level
from db.rules import MAX_MONTHLY_CONTRIBUTION_IDR, MIN_MONTHLY_CONTRIBUTION_IDR
from db.writes.audit import AuditEntry, write_audit
from geo.extent import BBox, coordinate_problem

MAX_BATCH = 1000
MAX_GPS_ACCURACY_M = 10_000
PROGRAMMES = ("JKK", "JKM", "JHT")
EVENTS_CHANNEL = "perisai_events"


@dataclass(frozen=True)
class EnrollmentItem:
    client_id: uuid.UUID
    nik: str
    name: str
    village_code: str
    programmes: tuple[str, ...]
    monthly_contribution_idr: int
    enrolled_on: dt.date
    occupation: str | None = None
    agent_code: str | None = None  # managers name the recording agent; agents record as themselves
    gps: tuple[float, float] | None = None
    gps_accuracy_m: float | None = None

    def fingerprint(self, agent_code: str, key: bytes) -> bytes:
        """Keyed (the NIK is inside): the same content always gives the same bytes."""
        content = [normalise(self.nik), self.name.strip(), self.village_code, sorted(self.programmes), self.monthly_contribution_idr,
                   self.enrolled_on.isoformat(), self.occupation, agent_code, self.gps, self.gps_accuracy_m]
        return hmac.new(key, orjson.dumps(content), hashlib.sha256).digest()


@dataclass(frozen=True)
class ItemResult:
    client_id: uuid.UUID
    status: str  # created | duplicate | rejected
    code: str | None = None  # why rejected: BAD_USER_INPUT, NOT_FOUND, FORBIDDEN, CONFLICT, ALREADY_ENROLLED
    message: str | None = None
    field: str | None = None  # the input field at fault, relative to the item
    enrollment_id: int | None = None


def item_problem(item: EnrollmentItem, today: dt.date) -> tuple[str, str] | None:
    """(field, message) for the first thing wrong with the item's content, or None."""
    checks = [
        ("nik", nik_problem(item.nik)),
        ("name", None if 1 <= len(item.name.strip()) <= 200 else "give the participant's name (1 to 200 characters)"),
        ("villageCode", None if Level.of_code(item.village_code) is Level.VILLAGE
         else f"{item.village_code!r} is not a village code like 34.71.01.1001"),
        ("programmes", None if item.programmes and set(item.programmes) <= set(PROGRAMMES)
         else "give at least one of JKK, JKM, JHT"),
        ("monthlyContributionIdr", None if MIN_MONTHLY_CONTRIBUTION_IDR <= item.monthly_contribution_idr <= MAX_MONTHLY_CONTRIBUTION_IDR
         else f"must be between Rp {MIN_MONTHLY_CONTRIBUTION_IDR:,} and Rp {MAX_MONTHLY_CONTRIBUTION_IDR:,}"),
        ("enrolledOn", None if dt.date(2014, 1, 1) <= item.enrolled_on <= today
         else "must be a date from 2014 (when BPJS Ketenagakerjaan began) up to today, not in the future"),
        ("occupation", None if item.occupation is None or len(item.occupation) <= 100 else "at most 100 characters"),
        ("gps", None if item.gps is None else coordinate_problem(BBox(item.gps[0], item.gps[1], item.gps[0], item.gps[1]))),
        ("gps.accuracyM", None if item.gps_accuracy_m is None or 0 <= item.gps_accuracy_m <= MAX_GPS_ACCURACY_M
         else f"must be between 0 and {MAX_GPS_ACCURACY_M:,} metres"),
    ]
    return next(((f, m) for f, m in checks if m is not None), None)


@dataclass
class _Pending:
    index: int
    item: EnrollmentItem
    agent_code: str
    fingerprint: bytes
    hashed_nik: bytes = field(default=b"")


async def record_enrollments(
    session: AsyncSession, viewer: Viewer, items: list[EnrollmentItem], nik_key: bytes
) -> list[ItemResult]:
    """Record a batch (the caller commits); one result per item, in order."""
    today = dt.date.today()
    results: dict[int, ItemResult] = {}
    pending: list[_Pending] = []
    seen: set[uuid.UUID] = set()
    for i, item in enumerate(items):
        problem = item_problem(item, today)
        agent_code = viewer.agent_code if viewer.role is Role.AGENT else item.agent_code
        if problem is None and viewer.role is Role.AGENT and item.agent_code not in (None, viewer.agent_code):
            results[i] = ItemResult(item.client_id, "rejected", "FORBIDDEN", "an agent records only its own enrollments", "agentCode")
        elif problem is None and agent_code is None:
            results[i] = ItemResult(item.client_id, "rejected", "BAD_USER_INPUT", "name the recording agent", "agentCode")
        elif problem is not None:
            results[i] = ItemResult(item.client_id, "rejected", "BAD_USER_INPUT", problem[1], problem[0])
        elif item.client_id in seen:
            results[i] = ItemResult(item.client_id, "rejected", "CONFLICT", "this clientId appears twice in the batch", "clientId")
        else:
            seen.add(item.client_id)
            pending.append(_Pending(i, item, str(agent_code), item.fingerprint(str(agent_code), nik_key),
                                    nik_hash(item.nik, nik_key)))
    pending = await _replays(session, pending, results)
    pending = await _permitted(session, viewer, pending, results)
    pending = await _not_enrolled(session, pending, results)
    await _insert(session, viewer, pending, results)
    return [results[i] for i in range(len(items))]


async def _replays(session: AsyncSession, pending: list[_Pending], results: dict[int, ItemResult]) -> list[_Pending]:
    """Items whose client id is already saved: a duplicate when the content matches, else CONFLICT."""
    if not pending:
        return pending
    rows = (await session.execute(
        text("SELECT client_id, client_hash, id FROM enrollment WHERE client_id = ANY(:ids)"),
        {"ids": [p.item.client_id for p in pending]},
    )).all()
    saved = {r.client_id: (bytes(r.client_hash), r.id) for r in rows}
    left = []
    for p in pending:
        if p.item.client_id not in saved:
            left.append(p)
            continue
        fingerprint, enrollment_id = saved[p.item.client_id]
        results[p.index] = (
            ItemResult(p.item.client_id, "duplicate", enrollment_id=enrollment_id) if fingerprint == p.fingerprint
            else ItemResult(p.item.client_id, "rejected", "CONFLICT",
                            f"clientId {p.item.client_id} was already used for different content (enrollment #{enrollment_id})",
                            "clientId")
        )
    return left


async def _permitted(
    session: AsyncSession, viewer: Viewer, pending: list[_Pending], results: dict[int, ItemResult]
) -> list[_Pending]:
    """Villages and agents exist, and the caller may record there for that agent."""
    if not pending:
        return pending
    rows = (await session.execute(text("""
        SELECT i.n, v.code IS NOT NULL AS village_exists, a.id AS agent_id, a.home_village_code,
               EXISTS (SELECT 1 FROM agent_reach r WHERE r.agent_id = a.id AND r.village_code = i.village) AS in_reach
        FROM unnest(CAST(:n AS int[]), CAST(:villages AS text[]), CAST(:agents AS text[])) AS i(n, village, agent)
        LEFT JOIN village v ON v.code = i.village
        LEFT JOIN agent a ON a.code = i.agent
    """), {"n": list(range(len(pending))), "villages": [p.item.village_code for p in pending],
           "agents": [p.agent_code for p in pending]})).all()
    left = []
    for row in sorted(rows, key=lambda r: r.n):
        p = pending[row.n]
        home_district = row.home_village_code[:8] if row.home_village_code else None
        reason: tuple[str, str, str] | None = None
        if not row.village_exists:
            reason = ("NOT_FOUND", f"no village {p.item.village_code}; check the code", "villageCode")
        elif row.agent_id is None:
            reason = ("NOT_FOUND", f"no agent {p.agent_code}", "agentCode")
        elif viewer.role is Role.AGENT and not (row.in_reach or p.item.village_code[:8] == home_district):
            reason = ("FORBIDDEN", f"village {p.item.village_code} is neither in your reach nor in your home district",
                      "villageCode")
        elif viewer.role is Role.MANAGER and not (analyses(viewer, p.item.village_code)
                                                  and analyses(viewer, row.home_village_code)):
            reason = ("FORBIDDEN", "the village and the agent's home village must both be inside your scope", "villageCode")
        if reason:
            results[p.index] = ItemResult(p.item.client_id, "rejected", *reason)
        else:
            left.append(p)
    return left


async def _not_enrolled(session: AsyncSession, pending: list[_Pending], results: dict[int, ItemResult]) -> list[_Pending]:
    """A participant already actively enrolled, or enrolled on the same day (saved, or earlier in this
    batch) is refused."""
    if not pending:
        return pending
    rows = (await session.execute(text("""
        SELECT DISTINCT p.nik_hash, e.id, e.client_id, e.status, e.enrolled_on FROM participant p
        JOIN unnest(CAST(:hashes AS bytea[]), CAST(:dates AS date[])) AS i(nik_hash, enrolled_on) ON i.nik_hash = p.nik_hash
        JOIN enrollment e ON e.participant_id = p.id AND (e.status = 'active' OR e.enrolled_on = i.enrolled_on)
    """), {"hashes": [p.hashed_nik for p in pending], "dates": [p.item.enrolled_on for p in pending]})).all()
    active = {bytes(r.nik_hash): r.id for r in rows if r.status == "active"}
    same_day = {(bytes(r.nik_hash), r.enrolled_on): r.id for r in rows}  # one enrollment per participant and day
    saved_meanwhile = [p for p in pending if any(r.client_id == p.item.client_id for r in rows)]
    if saved_meanwhile:  # another request committed this very item since `_replays` looked
        await _replays(session, saved_meanwhile, results)
    left, in_batch = [], set()
    for p in pending:
        if p.index in results:
            continue
        if p.hashed_nik in active:
            results[p.index] = ItemResult(p.item.client_id, "rejected", "ALREADY_ENROLLED",
                                          f"this participant already has active enrollment #{active[p.hashed_nik]}; "
                                          "lapse it first", "nik")
        elif (p.hashed_nik, p.item.enrolled_on) in same_day:
            results[p.index] = ItemResult(p.item.client_id, "rejected", "ALREADY_ENROLLED",
                                          f"this participant already has enrollment #{same_day[p.hashed_nik, p.item.enrolled_on]} "
                                          f"dated {p.item.enrolled_on}; a participant is enrolled at most once a day",
                                          "enrolledOn")
        elif p.hashed_nik in in_batch:
            results[p.index] = ItemResult(p.item.client_id, "rejected", "ALREADY_ENROLLED",
                                          "this participant is enrolled by an earlier item of this batch", "nik")
        else:
            in_batch.add(p.hashed_nik)
            left.append(p)
    return left


async def _insert(session: AsyncSession, viewer: Viewer, pending: list[_Pending], results: dict[int, ItemResult]) -> None:
    if not pending:
        return
    columns = {
        "n": [i for i in range(len(pending))], "client_id": [p.item.client_id for p in pending],
        "client_hash": [p.fingerprint for p in pending], "nik_hash": [p.hashed_nik for p in pending],
        "nik_last4": [nik_last4(p.item.nik) for p in pending], "name": [p.item.name.strip() for p in pending],
        "village": [p.item.village_code for p in pending], "occupation": [p.item.occupation for p in pending],
        "agent": [p.agent_code for p in pending], "programmes": ["{" + ",".join(p.item.programmes) + "}" for p in pending],
        "contribution": [p.item.monthly_contribution_idr for p in pending], "enrolled_on": [p.item.enrolled_on for p in pending],
        "lng": [p.item.gps[0] if p.item.gps else None for p in pending],
        "lat": [p.item.gps[1] if p.item.gps else None for p in pending],
        "accuracy": [p.item.gps_accuracy_m for p in pending],
    }
    # New participants first, then only the rows whose details really change: a replayed batch
    # locks no participant row, so twenty devices replaying the same batch do not queue on locks.
    await session.execute(text("""
        INSERT INTO participant (nik_hash, nik_last4, name, village_code, occupation)
        SELECT * FROM unnest(CAST(:nik_hash AS bytea[]), CAST(:nik_last4 AS text[]), CAST(:name AS text[]),
                             CAST(:village AS text[]), CAST(:occupation AS text[]))
        ORDER BY 1  -- one lock order for every request, so concurrent batches cannot deadlock
        ON CONFLICT (nik_hash) DO NOTHING
    """), columns)
    await session.execute(text("""
        UPDATE participant p SET name = i.name, village_code = i.village,
                                 occupation = coalesce(i.occupation, p.occupation)
        FROM unnest(CAST(:nik_hash AS bytea[]), CAST(:name AS text[]), CAST(:village AS text[]),
                    CAST(:occupation AS text[])) AS i(nik_hash, name, village, occupation)
        WHERE p.nik_hash = i.nik_hash
          AND (p.name, p.village_code, p.occupation) IS DISTINCT FROM (i.name, i.village, coalesce(i.occupation, p.occupation))
    """), columns)
    inserted = (await session.execute(text("""
        INSERT INTO enrollment (participant_id, agent_id, village_code, programmes, monthly_contribution_idr, enrolled_on,
                                status, last_paid_on, client_id, client_hash, recorded_at, gps, gps_accuracy_m)
        SELECT p.id, a.id, i.village, CAST(i.programmes AS programme[]), i.contribution, i.enrolled_on,
               'active', i.enrolled_on, i.client_id, i.client_hash, now(),
               CASE WHEN i.lng IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(i.lng, i.lat), 4326) END, i.accuracy
        FROM unnest(CAST(:n AS int[]), CAST(:client_id AS uuid[]), CAST(:client_hash AS bytea[]),
                    CAST(:nik_hash AS bytea[]), CAST(:village AS text[]), CAST(:agent AS text[]),
                    CAST(:programmes AS text[]), CAST(:contribution AS int[]), CAST(:enrolled_on AS date[]),
                    CAST(:lng AS float8[]), CAST(:lat AS float8[]), CAST(:accuracy AS real[]))
             AS i(n, client_id, client_hash, nik_hash, village, agent, programmes, contribution, enrolled_on, lng, lat, accuracy)
        JOIN participant p ON p.nik_hash = i.nik_hash
        JOIN agent a ON a.code = i.agent
        ORDER BY i.client_id
        ON CONFLICT DO NOTHING
        RETURNING client_id, id, village_code
    """), columns)).all()
    created = {r.client_id: (r.id, r.village_code) for r in inserted}
    raced = [p for p in pending if p.item.client_id not in created]
    for p in pending:
        if p.item.client_id in created:
            results[p.index] = ItemResult(p.item.client_id, "created", enrollment_id=created[p.item.client_id][0])
    if raced:  # another request saved the same item (or the same participant) meanwhile
        await _replays(session, raced, results)
        for p in raced:
            results.setdefault(p.index, ItemResult(p.item.client_id, "rejected", "ALREADY_ENROLLED",
                                                   "this participant was enrolled by another request meanwhile", "nik"))
    await write_audit(session, [
        AuditEntry(viewer, "recordEnrollment", "enrollment", str(eid), village, None,
                   {"clientId": str(cid), "village": village, "agent": p.agent_code,
                    "programmes": list(p.item.programmes), "monthlyContributionIdr": p.item.monthly_contribution_idr,
                    "enrolledOn": p.item.enrolled_on.isoformat(), "nikLast4": nik_last4(p.item.nik)})
        for p in pending if (cid := p.item.client_id) in created for eid, village in [created[cid]]
    ])
    await session.execute(text("SELECT pg_notify(:channel, e) FROM unnest(CAST(:events AS text[])) AS e"), {
        "channel": EVENTS_CHANNEL,
        "events": [orjson.dumps({"kind": "enrollment", "id": eid, "village": village}).decode()
                   for eid, village in created.values()],
    })
