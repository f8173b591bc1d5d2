"""Engines and sessions. Nothing is created at import time; callers pass the URL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(url: str) -> str:
    """`postgresql://…` as given by users, in the asyncpg dialect SQLAlchemy needs."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError(f"DATABASE_URL must start with postgresql://, got {url.split(':', 1)[0]}://…")


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, statement_timeout_ms: int | None = None
) -> AsyncEngine:
    """An engine; with `statement_timeout_ms`, PostgreSQL cancels any statement running longer."""
    server_settings = {"statement_timeout": str(statement_timeout_ms)} if statement_timeout_ms else {}
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo,
        connect_args={"server_settings": server_settings},
    )


def is_statement_timeout(error: BaseException) -> bool:
    """PostgreSQL cancelled the statement (SQLSTATE 57014), e.g. after statement_timeout."""
    original = getattr(error, "orig", None)
    return getattr(original, "sqlstate", None) == "57014" or getattr(original, "pgcode", None) == "57014"


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
