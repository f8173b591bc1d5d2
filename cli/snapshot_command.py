"""`perisai snapshot`: store today's coverage of every village and agent (monthly, from a scheduler)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from cli.runtime import CommandRefused, console, database_url, day, friendly_errors, run, settings
from db.access import Role, Viewer
from db.engine import create_engine, create_sessionmaker
from db.writes.refused import WriteRefused
from db.writes.snapshots import take_snapshot


@friendly_errors
def snapshot(
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE",
                                              help="The day to file it under (default today), e.g. 2026-11-30.")] = None,
    replace: Annotated[bool, typer.Option(help="Take it again when that day has one already.")] = False,
) -> None:
    """Store today's coverage of every village and agent, for coverageChanges and coverageTrend."""
    on = day(as_of)
    url = database_url(settings())
    viewer = Viewer(f"perisai snapshot ({getpass.getuser()})", Role.ADMIN)

    async def go() -> int:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await take_snapshot(session, viewer, on, replace)
        finally:
            await engine.dispose()

    try:
        made = run(go())
    except WriteRefused as refused:
        raise CommandRefused(f"--as-of {on}: {refused}".replace("replace: true", "--replace")) from refused
    console.print(f"Snapshot {made} of {on} stored.")
