"""Where a read goes: a streaming replica that is fresh enough, else the primary.

A watcher samples each database every `interval_s`: the primary's WAL position, and each
replica's replayed position and whether it is still in recovery. A replica's lag is how long ago
the primary first wrote something the replica has not replayed yet (0 when it has replayed all the
primary had at the last sample), so an idle primary does not make its replicas look stale, as
`now() - pg_last_xact_replay_timestamp()` would.

A read may name a WAL position (the one a client's last write returned): then only a replica
known to have replayed it serves the read, else the primary does. Writes, subscriptions' LISTEN
and everything inside a mutation always use the primary; this module only chooses for reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import create_sessionmaker, is_recovery_conflict, is_unavailable

log = logging.getLogger("perisai.replicas")
T = TypeVar("T")

PROBE_TIMEOUT_S = 1.0
HISTORY_S = 600.0  # primary positions kept to date a replica's lag; older lag reads as "at least"


_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


def parse_lsn(text: str) -> int:
    """`'16/B374D848'` (PostgreSQL's pg_lsn text) as a number; ValueError when malformed."""
    found = _LSN.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a WAL position like 16/B374D848")
    return (int(found[1], 16) << 32) | int(found[2], 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def display_name(url: str) -> str:
    """host:port of a database URL, for /healthz and logs (never the user or password)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def _replica_fault(error: BaseException) -> bool:
    # asyncpg's own errors count too: a connection the replica closed mid-statement can leave the
    # client in a state it reports as an internal error.
    return (is_unavailable(error) or is_recovery_conflict(error)
            or isinstance(error, (asyncpg.InterfaceError, asyncpg.InternalClientError)))


@dataclass
class Replica:
    """One replica, as the watcher last saw it."""

    name: str
    pool: asyncpg.Pool  # compiled GraphQL reads
    engine: AsyncEngine  # map pages, tiles, OGC API (through `sessions`)
    reachable: bool = False
    in_recovery: bool = False
    replay_lsn: int | None = None
    lag_s: float | None = None
    problem: str | None = "not probed yet"
    reads: int = 0  # reads sent here by this process
    sessions: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = create_sessionmaker(self.engine)

    def failed(self, error: BaseException) -> None:
        """A read here failed for the database's sake: serve none until the next probe answers."""
        log.warning("replica %s left out after a failed read: %s", self.name, error)
        self.reachable, self.problem = False, f"a read failed: {type(error).__name__}"

    def serves(self, max_lag_s: float, min_lsn: int | None) -> bool:
        if not (self.reachable and self.in_recovery and self.lag_s is not None and self.replay_lsn is not None):
            return False
        return self.lag_s <= max_lag_s and (min_lsn is None or self.replay_lsn >= min_lsn)


@dataclass
class ReadRouter:
    """Chooses the pool of each read; `start()` runs the watcher until `close()`."""

    primary: asyncpg.Pool
    primary_sessions: async_sessionmaker[AsyncSession]
    replicas: list[Replica]
    max_lag_s: float
    interval_s: float = 0.5
    primary_lsn: int | None = None
    primary_reachable: bool = True
    _history: deque[tuple[float, int]] = field(default_factory=deque, init=False)  # (when, primary's position)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _turn: int = field(default=0, init=False)

    def pick(self, min_lsn: int | None = None) -> Replica | None:
        """A replica that serves (in turn, to spread the load), or None: read from the primary."""
        serving = [r for r in self.replicas if r.serves(self.max_lag_s, min_lsn)]
        if not serving:
            return None
        self._turn = (self._turn + 1) % len(serving)
        chosen = serving[self._turn]
        chosen.reads += 1
        return chosen

    async def read(self, min_lsn: int | None, work: Callable[[asyncpg.Pool, async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
        """Do a read (`work` gets a pool and sessions) on a replica fresh enough for `min_lsn`, else
        on the primary. A replica that went away since the last sample (or cancelled the statement
        for a conflict with recovery) costs the read nothing: it is left out and the read runs on
        the primary, which answers, or raises the same error if the fault was not the replica's."""
        replica = self.pick(min_lsn)
        if replica is None:
            return await work(self.primary, self.primary_sessions)
        try:
            return await work(replica.pool, replica.sessions)
        except Exception as exc:
            if not _replica_fault(exc):
                raise
            replica.failed(exc)
            return await work(self.primary, self.primary_sessions)

    async def write_position(self) -> str:
        """The primary's WAL position now: past every transaction committed before the call."""
        return str(await self.primary.fetchval("SELECT pg_current_wal_lsn()::text"))

    async def start(self) -> None:
        if self.replicas:
            await self.sample()
            self._task = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            await replica.pool.close()
            await replica.engine.dispose()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sample()
            except Exception:  # the watcher must outlive any one failure; it is logged, not raised
                log.exception("sampling the databases failed")

    async def sample(self) -> None:
        """Probe the primary, then every replica at once."""
        now = time.monotonic()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                self.primary_lsn = parse_lsn(await self.primary.fetchval("SELECT pg_current_wal_lsn()::text"))
            self.primary_reachable = True
            self._history.append((now, self.primary_lsn))
            while self._history and self._history[0][0] < now - HISTORY_S:
                self._history.popleft()
        except Exception as exc:  # unreachable or in recovery: replicas are then dated by the last sample
            if self.primary_reachable:
                log.warning("primary not sampled: %s", exc)
            self.primary_reachable = False
        await asyncio.gather(*(self._probe(r, now) for r in self.replicas))

    async def _probe(self, replica: Replica, now: float) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                row = await replica.pool.fetchrow(
                    "SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed")
        except Exception as exc:  # a replica that does not answer serves no reads until it does
            if replica.reachable:
                log.warning("replica %s unreachable: %s", replica.name, exc)
            replica.reachable, replica.problem = False, f"unreachable: {type(exc).__name__}"
            return
        replica.reachable, replica.in_recovery = True, bool(row["recovering"])
        replica.replay_lsn = parse_lsn(row["replayed"]) if row["replayed"] else None
        replica.lag_s = self._lag(replica.replay_lsn, now)
        replica.problem = None if replica.in_recovery else "not in recovery (promoted?): serves no reads"

    def _lag(self, replayed: int | None, now: float) -> float | None:
        """Seconds since the primary first held a position the replica has not replayed."""
        if replayed is None or not self._history:
            return None
        for sampled_at, position in self._history:
            if position > replayed:
                return now - sampled_at
        return 0.0

    def status(self) -> list[dict[str, object]]:
        """Each replica's state, for /healthz."""
        return [{"name": r.name, "role": "unreachable" if not r.reachable else ("replica" if r.in_recovery else "primary"),
                 "serving": r.serves(self.max_lag_s, None),
                 "lag_s": None if r.lag_s is None else round(r.lag_s, 3),
                 "replay_lsn": None if r.replay_lsn is None else format_lsn(r.replay_lsn),
                 "reads": r.reads, **({"problem": r.problem} if r.problem else {})}
                for r in self.replicas]
