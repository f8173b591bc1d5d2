"""Bulk loading helpers: binary COPY into a temporary staging table on the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): importers report their stages through this."""


def no_progress(stage: str, done: int, total: int) -> None:
    pass


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `conn`, on the same transaction (for COPY)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def copy_to_staging(
    conn: AsyncConnection,
    table: str,
    columns_sql: str,
    columns: Sequence[str],
    records: Iterable[Sequence[Any]],
) -> None:
    """Create temp table `table` (dropped at commit) and COPY `records` into it."""
    await conn.execute(text(f"CREATE TEMP TABLE {table} ({columns_sql}) ON COMMIT DROP"))
    pg = await driver_connection(conn)
    await pg.copy_records_to_table(table, records=records, columns=list(columns))


def chunks(total: int, size: int) -> Iterable[tuple[int, int]]:
    """1-based inclusive ranges covering 1..total."""
    for start in range(1, total + 1, size):
        yield start, min(total, start + size - 1)
