"""The per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.websockets import WebSocket

from auth.signin import SignIn
from auth.tokens import InvalidToken, bearer
from db.access import Role, Viewer
from resolvers.errors import Unauthenticated


@dataclass
class Context:
    request: Request | WebSocket | None
    sessions: async_sessionmaker[AsyncSession]
    caller: Viewer | None
    auth_problem: str  # why `caller` is None
    jwt_secret: bytes = b""  # signs the map links of `mapUrl`
    nik_key: bytes = b""  # keys the NIK hashes of recorded enrollments
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload
    pool: asyncpg.Pool | None = None  # plain asyncpg connections for every read (compiler/)
    operation_kind: str = "unknown"  # query, mutation or subscription, once the document is parsed (metrics)
    operation_name: str | None = None  # the operation's name in the document, once parsed (metrics)

    @property
    def viewer(self) -> Viewer:
        if self.caller is None:
            raise Unauthenticated(self.auth_problem)
        return self.caller


Info = strawberry.Info[Context, Any]


ANONYMOUS_PLANNER = Viewer("anonymous", Role.PLANNER)


async def build_context(
    request: Request | WebSocket, sessions: async_sessionmaker[AsyncSession], sign_in: SignIn, nik_key: bytes = b"",
    anonymous: Viewer | None = None, pool: asyncpg.Pool | None = None,
) -> Context:
    token = bearer(request.headers.get("authorization"))
    secret = sign_in.secret
    if token is None:
        return Context(request, sessions, anonymous,
                       "sign in: send `Authorization: Bearer <token>` (see `perisai token`)", secret, nik_key, pool=pool)
    try:
        return Context(request, sessions, await sign_in.viewer(token), "", secret, nik_key, pool=pool)
    except InvalidToken as exc:
        return Context(request, sessions, None, str(exc), secret, nik_key, pool=pool)
