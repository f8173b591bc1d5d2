"""The caller as the API sees it."""

from __future__ import annotations

import strawberry

from db.access import Viewer


@strawberry.type(description="Who is asking: from the bearer token.")
class Me:
    subject: str
    role: str = strawberry.field(description="admin, planner, manager or agent.")
    scope: list[str] = strawberry.field(description="Region codes a manager may see; empty for other roles.")
    agent_code: str | None = strawberry.field(description="The agent's own code, for agent tokens.")

    @classmethod
    def of(cls, viewer: Viewer) -> Me:
        return cls(subject=viewer.subject, role=viewer.role.value, scope=list(viewer.scope), agent_code=viewer.agent_code)
