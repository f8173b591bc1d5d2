"""Who is asking, and the SQL predicates that limit every statement to what they may see.

Scoping is applied in SQL, never by filtering fetched rows in Python, so `totalCount`, cursors and
`node(id)` can never reveal a row outside the caller's scope.

- admin: everything.
- planner: every row but the enrollments and participants of villages whose counts are
  suppressed (small counts, migration 0013: listing them would count them); personal fields
  (participant names and NIK digits, agent phones) are refused by the API layer.
- manager: rows inside one or more region codes (`34.71` covers `34.71`, `34.71.01`, …);
  agents by their home village, enrollments and participants by their village.
- agent: its own profile, the villages whose label point lies within its reach or that are its
  home village, the regions containing those villages, and its own enrollments and their
  participants.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.orm import aliased

from db.models import Agent, AgentReach, Enrollment, HiddenEnrollmentCell
from db.regions import Level


class Role(enum.StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    MANAGER = "manager"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller: a token's subject, role and (for managers) region scope."""

    subject: str
    role: Role
    scope: tuple[str, ...] = ()  # region codes, managers only
    agent_code: str | None = None  # agents only

    @property
    def sees_personal_data(self) -> bool:
        return self.role is not Role.PLANNER


def analyses(viewer: Viewer, code: str | None) -> bool:
    """Whether the caller may see aggregate figures of a region (None: all of Indonesia).

    Admins and planners everywhere; managers inside their scope; agents nowhere.
    """
    if viewer.role in (Role.ADMIN, Role.PLANNER):
        return True
    if viewer.role is Role.MANAGER and code is not None:
        return any(code == s or code.startswith(s + ".") for s in viewer.scope)
    return False


def analyses_sql(viewer: Viewer, table: str, alias: str) -> str:
    """`analyses` as SQL over a region row aliased `alias` of `table`."""
    if viewer.role in (Role.ADMIN, Role.PLANNER):
        return "true"
    if viewer.role is Role.MANAGER:
        return visible_sql(viewer, table, alias)  # a manager sees exactly the regions it analyses
    return "false"


def code_within(column: ColumnElement[str], code: str) -> ColumnElement[bool]:
    """`column` is `code` or lies below it in the hierarchy (`34.71` → `34.71.01.1001`).

    Callers pass only validated region codes (digits and dots), rendered as literals so the
    LIKE prefix stays a constant the planner can match to the text_pattern_ops indexes even
    under a generic prepared-statement plan.
    """
    value: BindParameter[str] = bindparam(None, code, literal_execute=True)
    prefix: BindParameter[str] = bindparam(None, code + ".%", literal_execute=True)
    return or_(column == value, column.like(prefix))


def own_agent_id(viewer: Viewer) -> ColumnElement[int]:
    return select(Agent.id).where(Agent.code == viewer.agent_code).scalar_subquery()


def _agent_village_codes(viewer: Viewer, level: Level) -> CompoundSelect:
    """Codes (cut to `level`) of the villages an agent may see: in its reach or its home."""
    width = {Level.PROVINCE: 2, Level.REGENCY: 5, Level.DISTRICT: 8, Level.VILLAGE: 13}[level]
    home = select(func.left(Agent.home_village_code, width)).where(Agent.code == viewer.agent_code)
    in_reach = (
        select(func.left(AgentReach.village_code, width))
        .join(Agent, Agent.id == AgentReach.agent_id)
        .where(Agent.code == viewer.agent_code)
    )
    return union(home, in_reach)


# From this many scope codes on, `_scoped` writes one condition per code length instead of two
# per code: PostgreSQL plans a custom-planned statement again on every execution, and each OR
# branch costs planning time (a manager of all 38 provinces: 76 branches, +0.5 ms per statement
# of the gaps workload, against no measurable difference in execution; BENCHMARKS.md). Below it,
# the per-code form keeps each code a range the text_pattern_ops indexes can scan.
MANY_SCOPE_CODES = 5


def codes_within(column: ColumnElement[str], codes: tuple[str, ...]) -> ColumnElement[bool]:
    """`code_within` for several codes of one length k, as one comparison of the column's first
    k characters with the list, and the next character a dot or the end."""
    k = len(codes[0])
    assert all(len(code) == k for code in codes)
    values: list[BindParameter[str]] = [bindparam(None, code, literal_execute=True) for code in codes]
    return and_(func.left(column, k).in_(values),
                or_(func.length(column) == k, func.substr(column, k + 1, 1) == "."))


def _scoped(viewer: Viewer, column: ColumnElement[str]) -> ColumnElement[bool]:
    if viewer.role in (Role.ADMIN, Role.PLANNER):
        return true()
    if viewer.role is Role.MANAGER and viewer.scope:
        if len(viewer.scope) < MANY_SCOPE_CODES:
            return or_(*(code_within(column, code) for code in viewer.scope))
        lengths = sorted({len(code) for code in viewer.scope})
        return or_(*(codes_within(column, tuple(sorted(c for c in viewer.scope if len(c) == k))) for k in lengths))
    return false()


def region_visible(viewer: Viewer, level: Level, code: ColumnElement[str]) -> ColumnElement[bool]:
    """Whether the region (province … village) with this code column may be read."""
    if viewer.role is Role.AGENT:
        return code.in_(_agent_village_codes(viewer, level))
    return _scoped(viewer, code)


def agent_visible(viewer: Viewer, agent: Any = Agent) -> ColumnElement[bool]:
    """Whether an agent row may be read; `agent` may be an alias (`aliased(Agent, name="a")`)."""
    if viewer.role is Role.AGENT:
        return agent.code == viewer.agent_code
    return _scoped(viewer, agent.home_village_code)


def enrollment_visible(viewer: Viewer, enrollment: Any = Enrollment) -> ColumnElement[bool]:
    if viewer.role is Role.AGENT:
        return enrollment.agent_id == own_agent_id(viewer)
    return and_(_scoped(viewer, enrollment.village_code), _counted(viewer, enrollment.village_code))


def _counted(viewer: Viewer, village_code: ColumnElement[str]) -> ColumnElement[bool]:
    """Rows of a village may be listed (and so counted) by this caller: for callers without personal
    data, not when the village's enrollment count is suppressed."""
    if viewer.sees_personal_data:
        return true()
    return ~exists().where(HiddenEnrollmentCell.code == village_code)


def scenario_visible(viewer: Viewer, region_code: ColumnElement[str]) -> ColumnElement[bool]:
    """Scenarios and alerts are analyses: seen by whoever may analyse their region (never by agents)."""
    return false() if viewer.role is Role.AGENT else _scoped(viewer, region_code)


def participant_visible(viewer: Viewer, participant_id: ColumnElement[int], village_code: ColumnElement[str]) -> ColumnElement[bool]:
    if viewer.role is Role.AGENT:
        return participant_id.in_(
            select(Enrollment.participant_id).where(Enrollment.agent_id == own_agent_id(viewer))
        )
    return and_(_scoped(viewer, village_code), _counted(viewer, village_code))


@lru_cache(maxsize=4096)  # SQLAlchemy's compilation was 10 % of a manager's compiled read
def visible_sql(viewer: Viewer, table: str, alias: str) -> str:
    """The predicate above for rows of `table` (province … village, agent, enrollment,
    participant, scenario, coverage_alert or coverage_snapshot) as SQL text over the row aliased
    `alias`, for hand-written statements (compiled reads, maps, nearest agents). Values are
    rendered as literals by SQLAlchemy's dialect: region codes validated by the token check, an
    agent code quoted. One definition of every rule."""
    levels = {level.table: level for level in Level}
    predicate: ColumnElement[bool]
    if table in levels:
        predicate = region_visible(viewer, levels[table], literal_column(f"{alias}.code"))
    elif table == "agent":
        predicate = agent_visible(viewer, aliased(Agent, name=alias))
    elif table == "enrollment":
        # Columns by name, not an aliased entity: a subquery over an entity would pull it into its FROM.
        row = SimpleNamespace(agent_id=literal_column(f"{alias}.agent_id"), village_code=literal_column(f"{alias}.village_code"))
        predicate = enrollment_visible(viewer, row)
    elif table == "participant":
        predicate = participant_visible(viewer, literal_column(f"{alias}.id"), literal_column(f"{alias}.village_code"))
    elif table == "scenario":
        predicate = scenario_visible(viewer, literal_column(f"{alias}.region_code"))
    elif table == "coverage_alert":  # by district, like the region it concerns
        predicate = scenario_visible(viewer, literal_column(f"{alias}.district_code"))
    elif table == "coverage_snapshot":  # the list of snapshots; their figures are read per region, scoped
        predicate = false() if viewer.role is Role.AGENT else true()
    else:
        raise ValueError(f"no visibility rule for {table}")
    return "(" + str(predicate.compile(dialect=PGDialect_asyncpg(), compile_kwargs={"literal_binds": True})) + ")"


def agent_visible_sql(viewer: Viewer, alias: str) -> str:
    return visible_sql(viewer, "agent", alias)
