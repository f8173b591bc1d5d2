"""The root Mutation type: recording enrollments (one, or a batch from an offline device)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from compiler import payload
from db.rules import DEFAULT_REACH_M
from resolvers import writes
from resolvers.context import Info
from resolvers.errors import BadUserInput
from resolvers.inputs import row_id
from resolvers.writes import AgentFields, EnrollmentFields
from schema.coverage import LngLatInput
from schema.inputs import AgentStatus, Programme
from schema.scenarios import Scenario, ScenarioFromSitesInput, ScenarioInput
from schema.snapshots import CoverageSnapshot

if TYPE_CHECKING:
    from schema.agents import Agent
    from schema.enrollments import Enrollment

EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]
AgentType = Annotated["Agent", strawberry.lazy("schema.agents")]


@strawberry.input(description="Where the device was, as it reported it.")
class GpsInput:
    lng: float
    lat: float
    accuracy_m: float | None = strawberry.field(default=None, description="The device's stated accuracy, metres.")


@strawberry.input(description="One enrollment as a device sends it.")
class EnrollmentInput:
    client_id: uuid.UUID = strawberry.field(description="Chosen by the device, once per enrollment: replays with "
                                            "the same id and content return the original; other content is a CONFLICT.")
    nik: str = strawberry.field(description="16 digits. Only a keyed hash and the last 4 digits are stored.")
    name: str
    village_code: str
    programmes: list[Programme]
    monthly_contribution_idr: int
    enrolled_on: dt.date
    occupation: str | None = None
    agent_code: str | None = strawberry.field(default=None, description="The recording agent (managers and admins); "
                                              "agents record as themselves.")
    gps: GpsInput | None = None

    def fields(self) -> EnrollmentFields:
        return EnrollmentFields(
            self.client_id, self.nik, self.name, self.village_code, tuple(str(p.value) for p in self.programmes),
            self.monthly_contribution_idr, self.enrolled_on, self.occupation, self.agent_code,
            (self.gps.lng, self.gps.lat) if self.gps else None, self.gps.accuracy_m if self.gps else None,
        )


@strawberry.enum(description="What happened to one item.")
class SyncStatus(enum.Enum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@strawberry.type(description="The outcome of one enrollment item.")
class EnrollmentResult:
    client_id: uuid.UUID
    status: SyncStatus
    code: str | None = strawberry.field(description="Why it was rejected: BAD_USER_INPUT, NOT_FOUND, FORBIDDEN, "
                                        "CONFLICT or ALREADY_ENROLLED.")
    message: str | None
    field: str | None = strawberry.field(description="The item's field at fault.")
    enrollment: EnrollmentType | None = strawberry.field(description="The saved enrollment (created or duplicate).")


@strawberry.type(description="Per-item results, in the order sent, and their counts.")
class SyncResult:
    results: list[EnrollmentResult]
    created: int
    duplicates: int
    rejected: int


@strawberry.input(description="A new agent.")
class AgentInput:
    code: str
    name: str
    home_village_code: str
    location: LngLatInput = strawberry.field(description="The agent's base, from which reach is measured.")
    reach_m: int = strawberry.field(default=DEFAULT_REACH_M, description="Geodesic reach in metres (1 to 50,000).")
    phone: str | None = None
    status: AgentStatus = AgentStatus.ACTIVE

    def fields(self) -> AgentFields:
        return AgentFields(self.code, self.name, self.home_village_code, self.location.lng, self.location.lat,
                           self.reach_m, self.phone, self.status.value)


@strawberry.input(description="What to change about an agent; omitted fields stay as they are.")
class AgentChanges:
    name: str | None = None
    phone: str | None = None
    home_village_code: str | None = None
    location: LngLatInput | None = None
    reach_m: int | None = None

    def changes(self) -> dict[str, object]:
        found: dict[str, object] = {k: v for k, v in {
            "name": self.name, "phone": self.phone, "home_village_code": self.home_village_code,
            "reach_m": self.reach_m}.items() if v is not None}
        if self.location is not None:
            found |= {"lng": self.location.lng, "lat": self.location.lat}
        return found


def _enrollment_id(id: relay.GlobalID) -> int:
    if id.type_name != "Enrollment":
        raise BadUserInput(f"is the id of a {id.type_name}, not of an Enrollment", field="id")
    return row_id(id.node_id)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Recruit an agent (admins; managers inside their scope: home village and base).")
    async def create_agent(self, info: Info, input: AgentInput) -> AgentType:
        return await _agent(info, await writes.create_agent(info, input.fields()))

    @strawberry.mutation(description="Change an agent's details, base or reach; coverage follows in the same transaction.")
    async def update_agent(self, info: Info, code: str, input: AgentChanges) -> AgentType:
        return await _agent(info, await writes.update_agent(info, code, input.changes()))

    @strawberry.mutation(description="Save a what-if over a region's agents (planners and admins; managers inside "
                         "their scope). Nothing live changes: ask the scenario for its figures and its delta.")
    async def create_scenario(self, info: Info, input: ScenarioInput) -> Scenario:
        changes = [c.change() for c in input.changes]
        return await _scenario(info, await writes.create_scenario(info, input.name, input.region_code.strip(), changes))

    @strawberry.mutation(description="Save a scenario that adds an agent at each site recommendAgentSites "
                         "recommends for the region today, in one call.")
    async def create_scenario_from_sites(self, info: Info, input: ScenarioFromSitesInput) -> Scenario:
        made = await writes.create_scenario_from_sites(info, input.name, input.region_code.strip(), input.count,
                                                       input.reach_m, input.exact)
        return await _scenario(info, made)

    @strawberry.mutation(description="Store today's coverage of every village and agent under `asOf` (default "
                         "today): admins and planners. Monthly from cron or systemd: `perisai snapshot`.")
    async def take_snapshot(self, info: Info, as_of: dt.date | None = None, replace: bool = False) -> CoverageSnapshot:
        made = await writes.take_snapshot(info, as_of or dt.date.today(), replace)
        return await _snapshot(info, made)

    @strawberry.mutation(description="Activate or deactivate an agent.")
    async def set_agent_status(self, info: Info, code: str, status: AgentStatus) -> AgentType:
        return await _agent(info, await writes.update_agent(info, code, {"status": status.value}))

    @strawberry.mutation(description="Mark an active enrollment lapsed (contributions stopped).")
    async def lapse_enrollment(self, info: Info, id: relay.GlobalID, on: dt.date | None = None) -> EnrollmentType:
        return await _enrollment(info, await writes.lapse_enrollment(info, _enrollment_id(id), on or dt.date.today()))

    @strawberry.mutation(description="Record a contribution payment; the last-paid date never moves back.")
    async def record_payment(self, info: Info, id: relay.GlobalID, paid_on: dt.date) -> EnrollmentType:
        return await _enrollment(info, await writes.record_payment(info, _enrollment_id(id), paid_on))

    @strawberry.mutation(description="Record one enrollment (idempotent by clientId).")
    async def record_enrollment(self, info: Info, input: EnrollmentInput) -> EnrollmentResult:
        result = await writes.record_enrollment(info, input.fields())
        return await payload.value(info, lambda b, f, path: payload.item_result_json(b, f, result, path))

    @strawberry.mutation(description="Record up to 1,000 enrollments from an offline device; resend the whole "
                         "batch after a dropped connection: saved items come back as DUPLICATE.")
    async def sync_enrollments(self, info: Info, items: list[EnrollmentInput]) -> SyncResult:
        outcome = await writes.sync_enrollments(info, [i.fields() for i in items])
        return await payload.value(info, lambda b, f, path: payload.sync_result_json(b, f, outcome, path))


async def _snapshot(info: Info, snapshot_id: int) -> Any:
    return await payload.row(info, "CoverageSnapshot", "coverage_snapshot", lambda b, s: f"{s}.id = {b.add(snapshot_id)}")


async def _scenario(info: Info, scenario_id: int) -> Any:
    return await payload.row(info, "Scenario", "scenario", lambda b, s: f"{s}.id = {b.add(scenario_id)}")


async def _agent(info: Info, agent_id: int) -> Any:
    """What the mutation's selection reads of the agent it wrote (one statement, compiler/)."""
    return await payload.row(info, "Agent", "agent", lambda b, a: f"{a}.id = {b.add(agent_id)}")


async def _enrollment(info: Info, enrollment_id: int) -> Any:
    return await payload.row(info, "Enrollment", "enrollment", lambda b, e: f"{e}.id = {b.add(enrollment_id)}")
