"""A region's map and every map below it, as files that open from disk (`perisai map … -o DIR`).

The folder mirrors the server's paths, so the pages' relative links work unchanged:

    DIR/index.html                 opens the top page
    DIR/regencies/34.71.html       the regency asked for
    DIR/districts/34.71.01.html    each of its districts
    DIR/assets/…                   Leaflet and its plugins

Links to maps outside the folder (the province above, a neighbouring district of another regency)
are left out, so a zipped folder mailed to a manager has no dead link.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.queries import maps
from db.regions import Level
from maps.district import district_data, district_page
from maps.escape import text
from maps.names import region_name
from maps.page import PageOptions
from maps.regions import region_data, region_page

EXPORTABLE = (Level.PROVINCE, Level.REGENCY, Level.DISTRICT)  # the levels `perisai map` exports


async def export_pages(
    session: AsyncSession, level: Level, code: str, viewer: Viewer, options: PageOptions
) -> AsyncIterator[tuple[str, str]]:
    """(path inside the folder, page) for the region and every map below it; nothing when the
    region does not exist."""
    pages = await maps.codes_below(session, level, code, down_to=Level.DISTRICT)
    links = replace(options.links, suffix=".html", only=frozenset(c for _, c in pages), assets="assets")
    options = replace(options, links=links)
    for page_level, page_code in pages:
        if page_level is Level.DISTRICT:
            district = await district_data(session, page_code, viewer)
            if district is None:
                return
            name, html = district.outline.name, district_page(district, options)
        else:
            region = await region_data(session, page_level, page_code, viewer)
            if region is None:
                return
            name, html = region.name, region_page(region, options)
        if page_level is level:
            yield "index.html", _index(level, code, region_name(level, code, name), options)
        yield f"{page_level.plural}/{page_code}.html", html


def _index(level: Level, code: str, title: str, options: PageOptions) -> str:
    target = f"{level.plural}/{code}.html"
    return (f'<!doctype html><html lang="{options.lang}"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0; url={text(target)}"><title>{text(title)}</title></head>'
            f'<body><a href="{text(target)}">{text(title)}</a></body></html>')
