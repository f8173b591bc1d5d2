"""Live updates: enrollments recorded and coverage changed, from PostgreSQL NOTIFY, scoped per caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from db.access import Role, analyses
from db.events import EventHub
from db.queries import coverage
from db.queries.enrollments import enrollments_by_ids
from db.records import Activity, CoverageFigures, EnrollmentRecord
from db.regions import Level
from resolvers.context import Info
from resolvers.errors import BadUserInput, Forbidden
from resolvers.inputs import region_code


def _hub(info: Info) -> EventHub:
    return info.context.request.app.state.events  # type: ignore[union-attr, no-any-return]


def _region(code: str | None) -> str | None:
    return region_code(code, "regionCode") if code is not None else None


def _inside(village: str, code: str | None) -> bool:
    return code is None or village == code or village.startswith(code + ".")


async def enrollment_recorded(info: Info, code: str | None) -> AsyncGenerator[EnrollmentRecord, None]:
    """Each enrollment committed from now on, in `code` and visible to the caller (agents: their own)."""
    viewer = info.context.viewer
    code = _region(code)
    async with _hub(info).subscribe() as queue:
        while True:
            event = await queue.get()
            if event.get("kind") != "enrollment" or not _inside(str(event.get("village")), code):
                continue
            async with info.context.sessions() as session:
                found = await enrollments_by_ids(session, viewer, [int(event["id"])])
            if found:  # scoping: a manager never sees another region's, an agent another agent's
                yield found[0]


async def coverage_changed(info: Info, code: str | None) -> AsyncGenerator[CoverageFigures, None]:
    """The region's coverage now, then again whenever an agent or enrollment change moves it."""
    viewer = info.context.viewer
    code = _region(code)
    if viewer.role is Role.AGENT or not analyses(viewer, code):
        raise Forbidden("coverage updates are for planners and managers inside their scope", field="regionCode")
    level = Level.of_code(code) if code else None
    if level is Level.VILLAGE:
        raise BadUserInput("give a province, regency or district code", field="regionCode")

    async def figures() -> CoverageFigures:
        async with info.context.sessions() as session:
            return (await coverage.region_coverage(session, level, [code] if code else [], Activity()))[code]

    async with _hub(info).subscribe() as queue:
        last = await figures()
        yield last
        while True:
            event = await queue.get()
            while not queue.empty():  # a burst (a batch of enrollments) is one recomputation
                queue.get_nowait()
            if event.get("kind") == "enrollment" and not _inside(str(event.get("village")), code):
                continue
            now = await figures()
            if now != last:
                last = now
                yield now
