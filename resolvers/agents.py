"""Agents: lookups and lists (all, per district, reaching a village)."""

from __future__ import annotations

from typing import Any

from db.filters import NO_FILTER, ListFilter
from db.queries.agents import AgentsOf
from db.records import AgentRecord
from resolvers.context import Info
from resolvers.errors import BadUserInput, NotFound
from resolvers.pagination import Page, PageArgs, connection, key_types


async def agent(info: Info, *, id: int | None = None, code: str | None = None) -> AgentRecord:
    """An agent by id or code; NOT_FOUND when absent or outside the caller's scope."""
    if (id is None) == (code is None):
        raise BadUserInput("give either `id` or `code`", field="id")
    loaders = info.context.loaders
    found = await (loaders.agent.load((None, id)) if id is not None else loaders.agent_by_code.load((None, str(code))))
    if found is None:
        raise NotFound(f"no agent {id if id is not None else code} that you can see")
    return found


async def agent_or_none(info: Info, id: int) -> AgentRecord | None:
    return await info.context.loaders.agent.load((None, id))


async def agents(
    info: Info, of: AgentsOf, parent: Any, filter: ListFilter = NO_FILTER, page: PageArgs = PageArgs()
) -> Page[AgentRecord]:
    loaders = info.context.loaders
    by_distance = filter.near is not None or of is AgentsOf.VILLAGE_REACH
    keys = key_types(int, by_distance=by_distance)
    return await connection(loaders.agent_pages, loaders.agent_counts, of, parent, filter, page, keys)


async def district_agents(info: Info, code: str, filter: ListFilter, page: PageArgs) -> Page[AgentRecord]:
    """Agents whose home village lies in the district."""
    return await agents(info, AgentsOf.DISTRICT, code, filter, page)


async def agents_in_reach(info: Info, village_code: str, filter: ListFilter, page: PageArgs) -> Page[AgentRecord]:
    """Active agents whose reach contains the village's label point, nearest first."""
    return await agents(info, AgentsOf.VILLAGE_REACH, village_code, filter, page)


async def all_agents(info: Info, filter: ListFilter, page: PageArgs) -> Page[AgentRecord]:
    return await agents(info, AgentsOf.ALL, None, filter, page)
