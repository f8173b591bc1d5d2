"""The root Mutation type: recording enrollments (one, or a batch from an offline device)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import writes
from resolvers.context import Info
from resolvers.writes import EnrollmentFields, ItemResult
from schema.inputs import Programme

if TYPE_CHECKING:
    from schema.enrollments import Enrollment

EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]


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
            self.client_id, self.nik, self.name, self.village_code, tuple(p.value for p in self.programmes),
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

    @strawberry.field
    def status(self, root: strawberry.Parent[ItemResult]) -> SyncStatus:
        return SyncStatus(root.status)

    code: str | None = strawberry.field(description="Why it was rejected: BAD_USER_INPUT, NOT_FOUND, FORBIDDEN, "
                                        "CONFLICT or ALREADY_ENROLLED.")
    message: str | None
    field: str | None = strawberry.field(description="The item's field at fault.")

    @strawberry.field(description="The saved enrollment (created or duplicate).")
    async def enrollment(self, root: strawberry.Parent[ItemResult], info: Info) -> EnrollmentType | None:
        return await writes.enrollment_of(info, root)  # type: ignore[return-value]


@strawberry.type(description="Per-item results, in the order sent, and their counts.")
class SyncResult:
    results: list[EnrollmentResult]
    created: int
    duplicates: int
    rejected: int


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Record one enrollment (idempotent by clientId).")
    async def record_enrollment(self, info: Info, input: EnrollmentInput) -> EnrollmentResult:
        return await writes.record_enrollment(info, input.fields())  # type: ignore[return-value]

    @strawberry.mutation(description="Record up to 1,000 enrollments from an offline device; resend the whole "
                         "batch after a dropped connection: saved items come back as DUPLICATE.")
    async def sync_enrollments(self, info: Info, items: list[EnrollmentInput]) -> SyncResult:
        return await writes.sync_enrollments(info, [i.fields() for i in items])  # type: ignore[return-value]
