"""Suspicious field records: admins and planners everywhere, managers inside their scope."""

from __future__ import annotations

import datetime as dt

from db.access import Role, analyses
from db.queries.data_quality import (
    BURST_WINDOW,
    FAR_FACTOR,
    INACTIVE_DAYS,
    data_quality_page,
)
from db.records import DataQualityRecord, FlagReason
from db.regions import Level
from resolvers.context import Info
from resolvers.errors import BadUserInput, Forbidden, NotFound
from resolvers.inputs import region_code
from resolvers.pagination import Page, PageArgs, to_page, window


async def data_quality(
    info: Info, code: str | None, reasons: list[FlagReason] | None, as_of: dt.date | None, page: PageArgs
) -> Page[DataQualityRecord]:
    viewer = info.context.viewer
    code = region_code(code, "regionCode") if code is not None else None
    if viewer.role is Role.MANAGER and code is None:
        regions: list[str | None] = list(viewer.scope)
    elif analyses(viewer, code):
        regions = [code]
    else:
        raise Forbidden("data-quality flags are for admins, planners, and managers inside their scope",
                        field="regionCode")
    if code is not None:
        await _check_exists(info, code)
    if reasons is not None and not reasons:
        raise BadUserInput("lists no reason; leave it out for every reason", field="reasons")
    if as_of is not None and as_of > dt.date.today():
        raise BadUserInput("is in the future; give today or an earlier date", field="asOf")
    if page.last is not None or page.before is not None:
        raise BadUserInput("data-quality flags page forwards; use `first` and `after`", field="last")
    bounds = window(page, (int, int))
    async with info.context.sessions() as session:
        found = await data_quality_page(session, regions, reasons or list(FlagReason), as_of or dt.date.today(),
                                        bounds.limit, bounds.after)

    async def no_total() -> int:
        raise BadUserInput("data-quality flags have no totalCount; page through them", field="totalCount")

    return to_page(found, bounds, no_total)


async def _check_exists(info: Info, code: str) -> None:
    level = Level.of_code(code)
    loaders = info.context.loaders
    found = await (loaders.village.load((None, code)) if level is Level.VILLAGE
                   else loaders.region.load((level, code)))  # type: ignore[arg-type]
    if found is None:
        raise NotFound(f"no {level} with code {code}", field="regionCode")


def describe(flag: DataQualityRecord) -> str:
    """What a manager reads: why the record was flagged, with its figures."""
    match flag.reason:
        case FlagReason.GPS_OUTSIDE_VILLAGE:
            return (f"GPS point {flag.distance_m:,.0f} m outside village {flag.village_code}, more than the "
                    f"device's accuracy of {flag.allowed_m:,.0f} m")
        case FlagReason.OUTSIDE_AGENT_REACH:
            return (f"village {flag.village_code} is {flag.distance_m:,.0f} m from the agent's base, beyond "
                    f"{flag.allowed_m:,.0f} m ({FAR_FACTOR} × the agent's reach)")
        case FlagReason.NIK_SHARED_BY_AGENTS:
            return f"this participant's NIK has enrollments by {flag.count} different agents"
        case FlagReason.IDENTICAL_GPS_BURST:
            return (f"{flag.count} enrollments carry exactly these GPS coordinates within "
                    f"{BURST_WINDOW.total_seconds() / 60:.0f} minutes of each other")
        case FlagReason.AGENT_INACTIVE:
            last = f"last enrollment on {flag.last_enrolled_on}" if flag.last_enrolled_on else "no enrollment ever"
            return f"active agent with no enrollment in {INACTIVE_DAYS} days ({last})"
