"""The audit log: admins read everything, managers what concerns their scope."""

from __future__ import annotations

from db.access import Role, analyses
from db.queries.audit import AuditRecord, audit_page
from resolvers.context import Info
from resolvers.errors import BadUserInput, Forbidden
from resolvers.inputs import region_code
from resolvers.pagination import Page, PageArgs, to_page, window


async def audit_log(info: Info, code: str | None, page: PageArgs) -> Page[AuditRecord]:
    viewer = info.context.viewer
    code = region_code(code, "regionCode") if code is not None else None
    if viewer.role is Role.ADMIN:
        regions: list[str | None] = [code]
    elif viewer.role is Role.MANAGER and (code is None or analyses(viewer, code)):
        regions = [code] if code is not None else list(viewer.scope)
    else:
        raise Forbidden("the audit log is for admins, and for managers inside their scope", field="regionCode")
    if page.last is not None or page.before is not None:
        raise BadUserInput("the audit log pages forwards (newest first); use `first` and `after`", field="last")
    bounds = window(page, (int,))
    async with info.context.sessions() as session:
        found = await audit_page(session, regions, bounds.limit, bounds.after)

    async def no_total() -> int:
        raise BadUserInput("the audit log has no totalCount; page through it", field="totalCount")

    return to_page(found, bounds, no_total)
