"""Live updates: enrollments recorded and coverage changed, from PostgreSQL NOTIFY.

These are the event streams (who may subscribe, which events concern the subscription); what is
sent for each event is read by the compiler, scoped to the caller (schema/subscription.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from db.access import Role, analyses
from db.regions import Level
from events.hub import EventHub
from resolvers.context import Info
from resolvers.errors import BadUserInput, Forbidden
from resolvers.inputs import region_code


def _hub(info: Info) -> EventHub:
    return info.context.request.app.state.events  # type: ignore[union-attr]


def _region(code: str | None) -> str | None:
    return region_code(code, "regionCode") if code is not None else None


def _inside(village: str, code: str | None) -> bool:
    return code is None or village == code or village.startswith(code + ".")


async def enrollments_recorded(info: Info, code: str | None) -> AsyncGenerator[int, None]:
    """The id of each enrollment committed from now on in `code` (the caller's scope is applied
    when it is read)."""
    code = _region(code)
    async with _hub(info).subscribe() as queue:
        while True:
            event = await queue.get()
            if event.get("kind") == "enrollment" and _inside(str(event.get("village")), code):
                yield int(event["id"])


async def coverage_changes(info: Info, code: str | None) -> AsyncGenerator[tuple[Level | None, str | None], None]:
    """(level, code) of the region now, then again after each agent or enrollment change that may
    move its coverage (a burst of events is one)."""
    viewer = info.context.viewer
    code = _region(code)
    if viewer.role is Role.AGENT or not analyses(viewer, code):
        raise Forbidden("coverage updates are for planners and managers inside their scope", field="regionCode")
    level = Level.of_code(code) if code else None
    if level is Level.VILLAGE:
        raise BadUserInput("give a province, regency or district code", field="regionCode")
    async with _hub(info).subscribe() as queue:
        yield level, code
        while True:
            event = await queue.get()
            while not queue.empty():  # a burst (a batch of enrollments) is one recomputation
                queue.get_nowait()
            if event.get("kind") == "enrollment" and not _inside(str(event.get("village")), code):
                continue
            yield level, code


MAX_DIGEST_S = 3600


async def alerts_raised(info: Info, code: str | None, digest_s: int) -> AsyncGenerator[list[int], None]:
    """The ids of the alerts raised or updated in `code` (null: anywhere; the caller's scope is
    applied when they are read), gathered for `digest_s` seconds after the first of a burst."""
    viewer = info.context.viewer
    code = _region(code)
    if viewer.role is Role.AGENT or (code is not None and not analyses(viewer, code)):
        raise Forbidden("coverage alerts are for planners and managers inside their scope", field="regionCode")
    if not 0 <= digest_s <= MAX_DIGEST_S:
        raise BadUserInput(f"must be between 0 and {MAX_DIGEST_S} seconds", field="digestSeconds")

    def wanted(event: dict[str, object]) -> bool:
        district = str(event.get("region"))
        return event.get("kind") == "alert" and (_inside(district, code) or (code is not None and _inside(code, district)))

    async with _hub(info).subscribe() as queue:
        while True:
            event = await queue.get()
            if not wanted(event):
                continue
            ids = {int(str(event["id"]))}
            deadline = asyncio.get_running_loop().time() + digest_s
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                try:
                    event = await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    break
                if wanted(event):
                    ids.add(int(str(event["id"])))
            yield sorted(ids)
