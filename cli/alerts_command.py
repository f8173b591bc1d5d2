"""`perisai alerts`: raise the alerts that time brings (agents whose last enrollment grew too old); daily."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.runtime import CommandRefused, console, database_url, day, friendly_errors, run, settings
from db.engine import create_engine, create_sessionmaker
from db.rules import MAX_OBSERVED_DAYS
from db.writes.alerts import raise_inactivity_alerts


@friendly_errors
def alerts(
    inactive_days: Annotated[int, typer.Option("--inactive-days", metavar="DAYS",
                                               help="An agent with no enrollment in this many days no longer counts.")] = 30,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="The day to check (default today).")] = None,
) -> None:
    """Raise alerts for villages whose last active agent has recorded no enrollment in --inactive-days days."""
    if not 1 <= inactive_days <= MAX_OBSERVED_DAYS:
        raise CommandRefused(f"--inactive-days: give 1 to {MAX_OBSERVED_DAYS} days")
    checked = day(as_of)
    url = database_url(settings())

    async def go() -> int:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await raise_inactivity_alerts(session, inactive_days, checked)
        finally:
            await engine.dispose()

    raised = run(go())
    console.print(f"{raised} district(s) with villages whose last agent active within {inactive_days} days stopped "
                  f"on {checked}.")
