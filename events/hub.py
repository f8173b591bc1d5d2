"""Change events through PostgreSQL LISTEN/NOTIFY, fanned out to this process's subscribers.

Writers call `pg_notify('perisai_events', json)` inside their transaction, so an event exists only
if its change committed, and every server process listening on the database receives it (several
processes behind a load balancer all deliver it). Each process keeps one listening connection,
opened when the first subscriber arrives.

Events: `{"kind": "enrollment", "id": …, "village": "34.71.01.1001"}` and
`{"kind": "coverage", "agent": …}` (an agent was created, moved, given a new reach or status).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson

from db.engine import CONNECT_TIMEOUT_S

CHANNEL = "perisai_events"
QUEUE_SIZE = 1000  # a subscriber this far behind loses the oldest events rather than memory
RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.2, 5.0

log = logging.getLogger("perisai.events")


class EventHub:
    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: asyncpg.Connection | None = None
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._lock = asyncio.Lock()
        self._reconnecting: asyncio.Task[None] | None = None

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT_S)
                await self._connection.add_listener(CHANNEL, self._received)
                self._connection.add_termination_listener(self._lost)

    def _lost(self, _connection: Any) -> None:
        """The listening connection closed (a restart, a failover): listen again while anyone
        subscribes. Events committed in between are not delivered (NOTIFY keeps none)."""
        if self._queues and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        delay = RECONNECT_FIRST_S
        while self._queues:
            try:
                await self._ensure_listening()
                log.info("listening for events again")
                return
            except Exception as exc:  # the database is still away: try again, less often
                log.warning("cannot listen for events yet (retry in %.1f s): %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("ignored a malformed event: %.200s", payload)
            return
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue that receives every event committed from now on, until the block ends."""
        await self._ensure_listening()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def close(self) -> None:
        self._queues.clear()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()


def asyncpg_url(url: str) -> str:
    """asyncpg takes postgresql:// URLs, not SQLAlchemy's postgresql+asyncpg://."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
