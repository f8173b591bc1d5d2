"""Engines and sessions. Nothing is created at import time; callers pass the URL."""

from __future__ import annotations

import enum
import uuid

import asyncpg
import sqlalchemy.exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

CONNECT_TIMEOUT_S = 3.0  # a primary that is gone without refusing (a dead host) fails fast, not in 60 s
# A statement the server has not answered this long after its own statement_timeout would have
# cancelled it is waiting on a host that went silent (or on a synchronous standby that is gone):
# the client gives up, the request answers UNAVAILABLE, instead of waiting for TCP to notice.
COMMAND_MARGIN_S = 5.0


class Pooler(enum.Enum):
    """What sits between the server and PostgreSQL (README: Running on several machines)."""

    NONE = "none"  # straight to PostgreSQL: statements prepared once per connection
    # PgBouncer in transaction mode, before 1.21: nothing prepared outlives its transaction
    TRANSACTION = "transaction"
    # PgBouncer ≥ 1.21 in transaction mode with max_prepared_statements > 0: it re-prepares a
    # client's protocol-level prepared statements on whichever server connection it lends
    TRANSACTION_KEEPS_PREPARED = "transaction, keeps prepared statements"


def _rest(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return url[len(prefix):]
    raise ValueError(f"DATABASE_URL must start with postgresql://, got {url.split(':', 1)[0]}://…")


def plain_url(url: str) -> str:
    """The URL as asyncpg takes it: `postgresql://`, several hosts libpq-style (`h1:5432,h2:5432`)."""
    return "postgresql://" + _rest(url)


def async_url(url: str) -> str:
    """`postgresql://…` as given by users, in the asyncpg dialect SQLAlchemy needs. Several hosts
    (`user:pass@h1:5432,h2:5432/db?target_session_attrs=read-write`, libpq's form, for failover)
    become SQLAlchemy's `?host=h1:5432&host=h2:5432`."""
    rest = _rest(url)
    authority, _, tail = rest.partition("/")
    user, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return "postgresql+asyncpg://" + rest
    path, _, query = tail.partition("?")
    params = "&".join(f"host={host}" for host in hosts.split(","))
    return f"postgresql+asyncpg://{user}{at}/{path}?{params}" + (f"&{query}" if query else "")


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, statement_timeout_ms: int | None = None,
    pooler: Pooler = Pooler.NONE,
) -> AsyncEngine:
    """An engine; with `statement_timeout_ms`, PostgreSQL cancels any statement running longer.
    `pooler`: what `url` leads to (see `_startup`)."""
    connect_args: dict[str, object] = {"timeout": CONNECT_TIMEOUT_S, **_startup(statement_timeout_ms, pooler)}
    if pooler is Pooler.TRANSACTION:
        # SQLAlchemy prepares every statement inside its transaction (so on one server connection);
        # names unique per statement keep two clients sharing a server connection from colliding
        # (SQLAlchemy's documented set-up for PgBouncer; its own cache must be off too).
        connect_args["prepared_statement_name_func"] = lambda: f"__perisai_{uuid.uuid4().hex}__"
    address = make_url(async_url(url))
    if pooler is Pooler.TRANSACTION:
        address = address.update_query_dict({"prepared_statement_cache_size": "0"})
    return create_async_engine(
        address, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo, connect_args=connect_args,
    )


def _startup(statement_timeout_ms: int | None, pooler: Pooler) -> dict[str, object]:
    """asyncpg's connection arguments for the statement timeout and prepared statements. PgBouncer
    refuses startup parameters it does not know, statement_timeout among them: through it the
    timeout is set where PgBouncer connects (its `connect_query`, or `ALTER ROLE … SET
    statement_timeout`). Before 1.21 it keeps no prepared statement across transactions: no cache."""
    waited: dict[str, object] = {"command_timeout": statement_timeout_ms / 1000 + COMMAND_MARGIN_S} if statement_timeout_ms else {}
    if pooler is Pooler.TRANSACTION:
        return {"statement_cache_size": 0, **waited}
    if pooler is Pooler.TRANSACTION_KEEPS_PREPARED:
        return waited
    return {"server_settings": {"statement_timeout": str(statement_timeout_ms)} if statement_timeout_ms else {}, **waited}


async def create_pool(url: str, *, size: int = 10, statement_timeout_ms: int | None = None,
                      min_size: int = 1, pooler: Pooler = Pooler.NONE) -> asyncpg.Pool:
    """A plain asyncpg pool for statements that need no ORM (compiled reads): prepared statements
    are cached per connection (unless `pooler` cannot keep them), and nothing runs
    between checkout and the statement. With `min_size=0` it connects on first use (a replica that
    is down at start-up stops nothing)."""
    return await asyncpg.create_pool(plain_url(url), min_size=min_size, max_size=size, reset=_keep,
                                     timeout=CONNECT_TIMEOUT_S, **_startup(statement_timeout_ms, pooler))


async def _keep(connection: asyncpg.Connection) -> None:
    """No reset on release. The pool only runs single read-only statements that change no session
    state (settings come from `server_settings`), and asyncpg's default reset (`RESET ALL`, `UNLISTEN *`,
    …) was one more round trip per request: 8 % of a compiled read's time in the profile."""


def _states(error: BaseException) -> tuple[object, ...]:
    original = getattr(error, "orig", None)  # SQLAlchemy wraps; a plain asyncpg error carries it itself
    return getattr(original, "sqlstate", None), getattr(original, "pgcode", None), getattr(error, "sqlstate", None)


def is_statement_timeout(error: BaseException) -> bool:
    """PostgreSQL cancelled the statement (SQLSTATE 57014), e.g. after statement_timeout."""
    return "57014" in _states(error)


# SQLSTATE classes of a database that is not there: 08 connection exception, 57P01-57P05
# operator intervention (shutdown, crash shutdown, cannot connect now: starting up or in recovery).
# 57014 (query cancelled, e.g. statement_timeout) is in class 57 too and is not an outage.
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "57P04", "57P05")


def is_unavailable(error: BaseException) -> bool:
    """The database could not be reached or went away mid-request: retrying later may succeed."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        link = stack.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        state = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(state, str) and (state.startswith("08") or state in _UNAVAILABLE_STATES):
            return True
        if isinstance(link, (OSError, asyncpg.ConnectionDoesNotExistError, sqlalchemy.exc.TimeoutError)):
            return True  # refused, reset or timed out connecting; every pooled connection busy
        if isinstance(link, asyncpg.InterfaceError) and "closed" in str(link):
            return True  # a pooled connection the server closed (restart, failover)
        if getattr(link, "connection_invalidated", False):
            return True  # SQLAlchemy: the connection died during the statement
        stack += [getattr(link, "orig", None), link.__cause__, link.__context__]
    return False


def is_recovery_conflict(error: BaseException) -> bool:
    """A standby cancelled the statement because replaying the primary's changes needed its rows
    (SQLSTATE 40001 or 40P01 there): the same read succeeds on the primary."""
    return any(state in ("40001", "40P01") for state in _states(error))


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
