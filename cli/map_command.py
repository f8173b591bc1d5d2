"""`perisai map district|regency CODE -o FILE`: the same page as the server's, as a file.

The vendored assets are copied beside the file (`<name>_assets/`), so it opens from disk with no
server and no internet (without `--basemap osm`, which needs tiles from the internet).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cli.runtime import console, database_url, friendly_errors, run, settings
from db.access import Role, Viewer
from db.engine import create_engine, create_sessionmaker
from db.errors import PerisaiError
from db.regions import Level
from maps.assets import VENDOR, missing
from maps.district import district_data, district_page
from maps.page import CLASSIFIERS, PageOptions
from maps.regency import regency_data, regency_page

app = typer.Typer(help="Write a coverage map to an HTML file that opens from disk.", no_args_is_help=True)

Output = Annotated[Path, typer.Option("-o", "--output", help="The HTML file to write.")]
Metric = Annotated[str, typer.Option(help="What colours the map: coverage or penetration.")]
Basemap = Annotated[str, typer.Option(help="osm (tiles from the internet) or none (fully offline).")]
Classification = Annotated[str, typer.Option(help="quantiles, equal_interval or natural_breaks.")]


CLI_VIEWER = Viewer("cli", Role.ADMIN)  # whoever can run the CLI can read the database itself


class MapProblem(PerisaiError):
    pass


def _write(level: Level, code: str, output: Path, options: PageOptions) -> str:
    if Level.of_code(code) is not level:
        raise MapProblem(f"{code!r} is not a {level.value} code like {level.example}.")
    if options.metric not in ("coverage", "penetration") or options.basemap not in ("osm", "none") \
            or options.classification not in CLASSIFIERS:
        raise MapProblem("use --metric coverage|penetration, --basemap osm|none and --classification "
                         + "|".join(CLASSIFIERS) + ".")
    if missing():
        raise MapProblem("the map assets are missing; run `python -m maps.assets` (scripts/bootstrap does).")
    url = database_url(settings())

    async def go() -> str:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                if level is Level.DISTRICT:
                    data = await district_data(session, code, CLI_VIEWER)
                    return district_page(data, options) if data else ""
                regency = await regency_data(session, code, CLI_VIEWER)
                return regency_page(regency, options) if regency else ""
        finally:
            await engine.dispose()

    page = run(go())
    if not page:
        raise MapProblem(f"there is no {level.value} with code {code} in the database.")
    assets = output.with_name(output.stem + "_assets")
    _export(page, output, assets)
    return f"Wrote {output} ({len(page.encode()) / 1024:.0f} KB) and its assets in {assets}/."


def _export(page: str, output: Path, assets: Path) -> None:
    """Write the page and a fresh copy of the assets, or nothing at all.

    Everything is written into new files beside the target and renamed into place, so a full
    disk leaves no half-written map, and nothing is written through a symbolic link someone
    planted where the map or its assets folder will go (it could point anywhere, as root too).
    """
    for path in (output, assets):
        if path.is_symlink():
            raise MapProblem(f"{path} is a symbolic link; choose another output path (nothing was written).")
    if assets.exists() and not assets.is_dir():
        raise MapProblem(f"{assets} exists and is not a folder; move it or choose another output path.")
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.stem}-"))
        shutil.copytree(VENDOR, staging / "assets", symlinks=False)
        (staging / "page.html").write_text(page, encoding="utf-8")
        if assets.exists():
            (staging / "assets").rename(staging / "new-assets")
            assets.rename(staging / "assets")  # the old copy goes with the staging folder
            (staging / "new-assets").rename(assets)
        else:
            (staging / "assets").rename(assets)
        os.replace(staging / "page.html", output)
    except OSError as exc:
        raise MapProblem(f"could not write the map to {output}: {exc.strerror or exc}. Nothing was left half-written.") from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


@app.command()
@friendly_errors
def district(code: str, output: Output, metric: Metric = "coverage", basemap: Basemap = "none",
             classification: Classification = "quantiles") -> None:
    """A district's map: villages, agents and their reach, gaps, recommended sites."""
    options = PageOptions(metric, basemap, classification, assets=output.stem + "_assets")
    console.print(_write(Level.DISTRICT, code, output, options))


@app.command()
@friendly_errors
def regency(code: str, output: Output, metric: Metric = "coverage", basemap: Basemap = "none",
            classification: Classification = "quantiles") -> None:
    """A regency's map: districts as a choropleth of coverage % or penetration."""
    options = PageOptions(metric, basemap, classification, assets=output.stem + "_assets")
    console.print(_write(Level.REGENCY, code, output, options))
