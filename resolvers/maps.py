"""Links to the map pages, signed so a browser tab can open them without headers."""

from __future__ import annotations

from urllib.parse import urlencode

from auth.tokens import map_link_token
from db.access import analyses
from db.regions import Level
from resolvers.context import Info

PATHS = {Level.DISTRICT: "districts", Level.REGENCY: "regencies"}


def map_url(info: Info, level: Level, code: str, metric: str, basemap: str) -> str | None:
    """An absolute link with a 30-minute map-only token; null for callers who may not see the map."""
    viewer = info.context.viewer
    if not analyses(viewer, code) or info.context.request is None:
        return None
    query = urlencode({"metric": metric, "basemap": basemap, "token": map_link_token(info.context.jwt_secret, viewer)})
    return f"{str(info.context.request.base_url).rstrip('/')}/maps/{PATHS[level]}/{code}?{query}"
