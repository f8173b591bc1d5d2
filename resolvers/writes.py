"""Mutations: read the input, check the role, run one write function in one transaction. What a
mutation returns is read afterwards by the compiler (schema/mutation.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Role
from db.queries.siting import siting_data
from db.queries.suppression import suppresses
from db.records import Activity
from db.writes import agents, enrollment_status, scenarios, snapshots
from db.writes.agents import AgentFields
from db.writes.enrollments import (
    MAX_BATCH,
    EnrollmentItem,
    ItemResult,
    record_enrollments,
)
from db.writes.refused import WriteRefused
from db.writes.scenarios import ChangeKind, ScenarioChange
from resolvers.context import Info
from resolvers.errors import BadUserInput, Forbidden, Rejected
from resolvers.siting import check_siting, solve_sites

WRITERS = (Role.ADMIN, Role.MANAGER, Role.AGENT)
T = TypeVar("T")


@dataclass(frozen=True)
class EnrollmentFields:
    """An `EnrollmentInput` as plain values (the schema builds it)."""

    client_id: uuid.UUID
    nik: str
    name: str
    village_code: str
    programmes: tuple[str, ...]
    monthly_contribution_idr: int
    enrolled_on: dt.date
    occupation: str | None = None
    agent_code: str | None = None
    gps: tuple[float, float] | None = None
    gps_accuracy_m: float | None = None


def _item(fields: EnrollmentFields) -> EnrollmentItem:
    return EnrollmentItem(**fields.__dict__)


def _may_write(info: Info) -> None:
    if info.context.viewer.role not in WRITERS:
        raise Forbidden("recording enrollments is for agents, managers and admins")


async def _record(info: Info, items: list[EnrollmentItem]) -> list[ItemResult]:
    async with info.context.sessions() as session, session.begin():
        return await record_enrollments(session, info.context.viewer, items, info.context.nik_key)


async def record_enrollment(info: Info, fields: EnrollmentFields) -> ItemResult:
    """One enrollment; a replay of the same content returns the original, anything else refused is an error."""
    _may_write(info)
    result = (await _record(info, [_item(fields)]))[0]
    if result.status == "rejected":
        raise Rejected(str(result.code), str(result.message), field=f"input.{result.field}" if result.field else None)
    return result


@dataclass(frozen=True)
class SyncOutcome:
    results: list[ItemResult]

    def _count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def created(self) -> int:
        return self._count("created")

    @property
    def duplicates(self) -> int:
        return self._count("duplicate")

    @property
    def rejected(self) -> int:
        return self._count("rejected")


async def sync_enrollments(info: Info, items: list[EnrollmentFields]) -> SyncOutcome:
    """Up to 1,000 items, each with its own result; a bad item never fails the others."""
    _may_write(info)
    if not 1 <= len(items) <= MAX_BATCH:
        raise BadUserInput(f"send 1 to {MAX_BATCH:,} items per call; split larger batches", field="items")
    return SyncOutcome(await _record(info, [_item(f) for f in items]))


# -- agents, lapses and payments ---------------------------------------------------------------

async def _write(info: Info, action: Callable[[AsyncSession], Awaitable[T]], argument: str = "input.") -> T:
    """Run one write function in its own transaction; its refusals become API errors (their field
    named under the mutation's `input`, or `argument` for mutations whose arguments are top-level)."""
    try:
        async with info.context.sessions() as session, session.begin():
            return await action(session)
    except WriteRefused as refused:
        raise Rejected(refused.code, str(refused), field=f"{argument}{refused.field}" if refused.field else None) from refused


async def create_agent(info: Info, fields: AgentFields) -> int:
    """The new agent's id."""
    viewer = info.context.viewer
    return await _write(info, lambda s: agents.create_agent(s, viewer, fields))


async def update_agent(info: Info, code: str, changes: dict[str, Any]) -> int:
    """The changed agent's id."""
    viewer = info.context.viewer
    return await _write(info, lambda s: agents.update_agent(s, viewer, code, changes))


async def lapse_enrollment(info: Info, enrollment_id: int, on: dt.date) -> int:
    viewer = info.context.viewer
    await _write(info, lambda s: enrollment_status.lapse_enrollment(s, viewer, enrollment_id, on))
    return enrollment_id


async def record_payment(info: Info, enrollment_id: int, paid_on: dt.date) -> int:
    viewer = info.context.viewer
    await _write(info, lambda s: enrollment_status.record_payment(s, viewer, enrollment_id, paid_on))
    return enrollment_id


async def create_scenario(info: Info, name: str, region_code: str, changes: list[ScenarioChange]) -> int:
    """The saved scenario's id."""
    viewer = info.context.viewer
    return await _write(info, lambda s: scenarios.create_scenario(s, viewer, name, region_code, changes))


async def create_scenario_from_sites(info: Info, name: str, region_code: str, count: int, reach_m: float,
                                     use_exact: bool) -> int:
    """A scenario that adds an agent at each recommended site of the region (as recommendAgentSites
    ranks them today); its id."""
    viewer = info.context.viewer
    try:
        check_siting(count, reach_m)
    except BadUserInput as error:
        raise _of_input(error) from error

    async def action(session: AsyncSession) -> int:
        await scenarios.check_region(session, viewer, region_code)  # before the solve: it may take seconds
        data = await siting_data(session, region_code, reach_m, Activity(), suppress=suppresses(viewer))
        try:
            sites = solve_sites(data, count, use_exact)
        except BadUserInput as error:
            raise _of_input(error) from error
        if not sites:
            raise WriteRefused("BAD_USER_INPUT", "every village with workers left to enroll is already reached: "
                               "there is no site to recommend", "regionCode")
        changes = [ScenarioChange(ChangeKind.ADD_AGENT, lng=s.lng, lat=s.lat, reach_m=round(reach_m),
                                  name=f"Site {s.rank} ({s.village_code})") for s in sites]
        return await scenarios.create_scenario(session, viewer, name, region_code, changes)

    return await _write(info, action)


def _of_input(error: BadUserInput) -> BadUserInput:
    """The same refusal, its field named inside the mutation's `input`."""
    return BadUserInput(str(error).split(": ", 1)[-1], field=f"input.{error.field}")


async def take_snapshot(info: Info, as_of: dt.date, replace: bool) -> int:
    """The new snapshot's id."""
    viewer = info.context.viewer
    return await _write(info, lambda s: snapshots.take_snapshot(s, viewer, as_of, replace), argument="")
