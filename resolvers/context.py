"""The per-request context every resolver receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import strawberry
from graphql import DocumentNode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.websockets import WebSocket

from auth.signin import SignIn
from auth.tokens import InvalidToken, bearer
from db.access import Role, Viewer
from db.replicas import ReadRouter, parse_lsn
from resolvers.errors import Unauthenticated

T = TypeVar("T")


@dataclass
class Context:
    request: Request | WebSocket | None
    sessions: async_sessionmaker[AsyncSession]
    caller: Viewer | None
    auth_problem: str  # why `caller` is None
    jwt_secret: bytes = b""  # signs the map links of `mapUrl`
    nik_key: bytes = b""  # keys the NIK hashes of recorded enrollments
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload
    pool: asyncpg.Pool | None = None  # plain asyncpg connections to the primary (compiler/, mutations' answers)
    router: ReadRouter | None = None  # chooses where queries read: a fresh replica, or the primary
    read_after: int | None = None  # the WAL position the request's reads must see (POSITION_HEADER)
    operation_kind: str = "unknown"  # query, mutation or subscription, once the document is parsed (metrics)
    operation_name: str | None = None  # the operation's name in the document, once parsed (metrics)
    compiled_document: DocumentNode | None = None  # set when the compiler answered this query (schema/admitted.py)

    async def read(self, statement: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
        """Run a query's statement on a replica fresh enough for it, else on the primary (db/replicas.py)."""
        assert self.pool is not None
        if self.router is None:
            return await statement(self.pool)
        return await self.router.read(self.read_after, lambda pool, _: statement(pool))

    @property
    def viewer(self) -> Viewer:
        if self.caller is None:
            raise Unauthenticated(self.auth_problem)
        return self.caller


Info = strawberry.Info[Context, Any]


ANONYMOUS_PLANNER = Viewer("anonymous", Role.PLANNER)


async def build_context(
    request: Request | WebSocket, sessions: async_sessionmaker[AsyncSession], sign_in: SignIn, nik_key: bytes = b"",
    anonymous: Viewer | None = None, pool: asyncpg.Pool | None = None, router: ReadRouter | None = None,
) -> Context:
    """The request's context; ValueError when its POSITION_HEADER is malformed."""
    token = bearer(request.headers.get("authorization"))
    secret = sign_in.secret
    after = read_after(request.headers)
    if token is None:
        return Context(request, sessions, anonymous, "sign in: send `Authorization: Bearer <token>` (see `perisai token`)",
                       secret, nik_key, pool=pool, router=router, read_after=after)
    try:
        caller: Viewer | None = await sign_in.viewer(token)
        problem = ""
    except InvalidToken as exc:
        caller, problem = None, str(exc)
    return Context(request, sessions, caller, problem, secret, nik_key, pool=pool, router=router, read_after=after)


# Read-your-writes across replicas: a mutation's answer carries the primary's WAL position after
# its commit in this header; a client that sends it back on later requests is served by a replica
# that has replayed that far, or by the primary.
POSITION_HEADER = "X-Perisai-LSN"


def read_after(headers: Mapping[str, str]) -> int | None:
    """The WAL position a request's reads must see (its `X-Perisai-LSN` header), or None."""
    given = headers.get(POSITION_HEADER.lower())
    if not given:
        return None
    try:
        return parse_lsn(given)
    except ValueError:
        raise ValueError(f"{POSITION_HEADER}: {given[:40]!r} is not a WAL position; send back the {POSITION_HEADER} "
                         "header of your last write's answer as it came (like 0/3000148), or leave it out") from None
