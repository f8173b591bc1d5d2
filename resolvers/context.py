"""The per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from resolvers.loaders import Loaders, make_loaders


@dataclass
class Context:
    request: Request | None
    sessions: async_sessionmaker[AsyncSession]
    loaders: Loaders


Info = strawberry.Info[Context, Any]


def build_context(request: Request | None, sessions: async_sessionmaker[AsyncSession]) -> Context:
    """Fresh loaders for every request, so caches never outlive it."""
    return Context(request, sessions, make_loaders(sessions))
