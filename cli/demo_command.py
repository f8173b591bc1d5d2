"""`perisai demo`: load a deterministic synthetic region (or real boundaries) with people."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.runtime import (
    console,
    database_url,
    friendly_errors,
    progress_bar,
    run,
    settings,
)
from db.engine import create_engine
from demo.build import build_demo


@friendly_errors
def demo(
    villages: Annotated[int, typer.Option(min=10, max=200_000, metavar="N", help="Number of villages to generate.")] = 400,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed: the same seed gives the same data.")] = 7,
    boundaries: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Use the villages of this real boundary file instead of a synthetic region.")
    ] = None,
    agents: Annotated[int | None, typer.Option(metavar="N", help="Number of agents (default 0.24 per village).")] = None,
    enrollments: Annotated[int | None, typer.Option(metavar="N", help="Number of enrollments (default 24 per village).")] = None,
) -> None:
    """Generate demo data (province 99, in the Banda Sea) and load it; re-running is safe."""
    config = settings()
    url = database_url(config)
    key = config.secret("nik_key")

    async def go() -> list[str]:
        engine = create_engine(url)
        try:
            with progress_bar() as progress:
                summary = await build_demo(
                    engine, villages=villages, seed=seed, boundaries=boundaries, nik_key=key,
                    agents=agents, enrollments=enrollments, progress=progress,
                )
            return summary.lines()
        finally:
            await engine.dispose()

    for line in run(go()):
        console.print(line)
