"""`perisai export`: a region's villages, gaps or agent workload as CSV, XLSX, GeoJSON or GeoPackage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.runtime import CommandRefused, console, database_url, friendly_errors, run, settings
from db.access import Role, Viewer
from db.engine import create_engine
from db.queries.exports import EXPORTS
from db.regions import Level
from maps.exports import FORMATS, write_file


@friendly_errors
def export(
    kind: Annotated[str, typer.Argument(metavar="|".join(EXPORTS).upper(), help="What to export.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="The file to write; its extension "
                                         f"is the format ({', '.join(FORMATS)}).")],
    region: Annotated[str | None, typer.Option("--region", metavar="CODE",
                                               help="A province, regency or district (default: Indonesia).")] = None,
) -> None:
    """Write a coverage export (every row, in constant memory) for planners' spreadsheets and GIS."""
    kind = kind.lower()
    if kind not in EXPORTS:
        raise CommandRefused(f"{kind!r} is not one of {', '.join(EXPORTS)}")
    fmt = output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise CommandRefused(f"--output: name the file .{', .'.join(FORMATS)} to choose the format")
    if region is not None and Level.of_code(region) in (None, Level.VILLAGE):
        raise CommandRefused(f"--region: {region!r} is not a province, regency or district code like 34.71")
    if output.exists():
        raise CommandRefused(f"--output: {output} exists; remove it or name another file")
    url = database_url(settings())

    async def go() -> int:
        engine = create_engine(url)
        try:
            return await write_file(engine, kind, region, Viewer("perisai export", Role.ADMIN), fmt, output)
        finally:
            await engine.dispose()

    rows = run(go())
    console.print(f"{rows:,} rows written to {output}.")
