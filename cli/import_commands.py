"""`perisai import boundaries | agents | enrollments | estimates`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.runtime import console, database_url, friendly_errors, progress_bar, run, settings
from db.engine import create_engine
from db.importers.boundaries import import_boundaries
from db.importers.gisfile import read_boundary_file
from db.regions import Level

app = typer.Typer(help="Import boundary files and CSV tables. Each import is one transaction.")

FileArg = Annotated[Path, typer.Argument(help="The file to import.", show_default=False)]


@app.command()
@friendly_errors
def boundaries(
    file: FileArg,
    level: Annotated[Level, typer.Option(help="Administrative level of the features.")],
    code_field: Annotated[str, typer.Option(help="Field holding the Kemendagri code.")] = "code",
    name_field: Annotated[str, typer.Option(help="Field holding the name.")] = "name",
    parent_field: Annotated[
        str | None, typer.Option(help="Field holding the parent's code (default: derived from the code).")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="Layer to read (GeoPackage); default the first.")] = None,
) -> None:
    """Import boundaries from GeoJSON (.geojson, .geojson.gz), GeoPackage, Shapefile or FlatGeobuf.

    Invalid polygons are repaired; re-importing the same file changes nothing. Parents missing
    from the database are created as code-only rows (provinces get their official name).
    """
    data = read_boundary_file(
        file, level, code_field=code_field, name_field=name_field, parent_field=parent_field, layer=layer
    )
    url = database_url(settings())

    async def go() -> list[str]:
        engine = create_engine(url)
        try:
            with progress_bar() as progress:
                return (await import_boundaries(engine, data, progress)).lines()
        finally:
            await engine.dispose()

    for line in run(go()):
        console.print(line)
