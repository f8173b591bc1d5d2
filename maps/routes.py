"""HTTP routes of the map pages: `/maps/districts/{code}`, `/maps/regencies/{code}`, `/maps/assets/…`.

Same tokens and scoping as the GraphQL API. A browser tab cannot send headers, so a token may also
come as `?token=`, but only a map link (the short-lived, maps-only tokens that `mapUrl` creates):
an API token in a URL would end up in browser history, proxies and logs, so it is refused there.
Links inside a page carry the map link on; a page opened with a header carries nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from auth.tokens import MAP_LINK, InvalidToken, bearer, viewer_from_token
from db.access import Viewer, analyses
from db.engine import is_statement_timeout, is_unavailable
from db.regions import Level
from maps.assets import VENDOR
from maps.district import district_data, district_page
from maps.escape import text
from maps.page import CLASSIFIERS, PageOptions
from maps.regency import regency_data, regency_page

log = logging.getLogger("perisai.maps")

CHOICES = {"metric": ("coverage", "penetration"), "basemap": ("osm", "none"), "classification": tuple(CLASSIFIERS)}


def problem_page(status: int, title: str, detail: str) -> HTMLResponse:
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{status} {text(title)}</title>
<style>body{{font:16px/1.5 sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}}</style></head>
<body><h1>{text(title)}</h1><p>{text(detail)}</p><p><small>HTTP {status}</small></p></body></html>"""
    return HTMLResponse(body, status_code=status)


class PageProblem(Exception):
    def __init__(self, response: HTMLResponse) -> None:
        self.response = response


def _viewer(request: Request) -> tuple[Viewer, str | None]:
    """The caller, and the link token to carry on in links (None when it came as a header)."""
    header = bearer(request.headers.get("authorization"))
    link = request.query_params.get("token")
    if not header and not link:
        raise PageProblem(problem_page(401, "Sign in needed",
                                       "Open this map from its mapUrl link, or send Authorization: Bearer <token>."))
    try:
        if header:
            return viewer_from_token(request.app.state.jwt_secret, header, uses=(None, MAP_LINK)), None
        return viewer_from_token(request.app.state.jwt_secret, str(link), uses=(MAP_LINK,)), link
    except InvalidToken as exc:
        raise PageProblem(problem_page(401, "This link cannot be used", f"{exc}. Ask the API for a new mapUrl.")) from exc


def _options(request: Request, link: str | None) -> PageOptions:
    values = {}
    for name, allowed in CHOICES.items():
        value = request.query_params.get(name, allowed[0])
        if value not in allowed:
            raise PageProblem(problem_page(400, f"Unknown {name}",
                                           f"{name}={value!r} is not one of: {', '.join(allowed)}."))
        values[name] = value
    suffix = "?" + "&".join(f"{k}={v}" for k, v in {**values, **({"token": link} if link else {})}.items())
    return PageOptions(**values, assets="/maps/assets", link_suffix=suffix)


def _failure_page(request: Request, exc: Exception) -> HTMLResponse:
    """A short page instead of a bare 500: 503 to retry when the database is away or too slow."""
    if is_unavailable(exc) or is_statement_timeout(exc):
        log.warning("map %s unavailable: %s", request.url.path, exc)
        busy = problem_page(503, "The map cannot be drawn right now",
                            "The database is busy or restarting. Reload the page in a few seconds.")
        busy.headers["Retry-After"] = "5"
        return busy
    error_id = uuid.uuid4().hex[:12]
    log.error("unexpected error %s drawing %s", error_id, request.url.path, exc_info=exc)
    return problem_page(500, "The map could not be drawn",
                        f"Something went wrong on our side (reference {error_id}); it has been logged.")


def _map_route(level: Level, load: Callable[..., Awaitable[Any]], page: Callable[[Any, PageOptions], str]) -> Callable[[Request], Awaitable[HTMLResponse]]:
    async def endpoint(request: Request) -> HTMLResponse:
        code = request.path_params["code"]
        try:
            viewer, link = _viewer(request)
            options = _options(request, link)
            if Level.of_code(code) is not level:
                return problem_page(404, "No such map", f"{code!r} is not a {level.value} code like {level.example}.")
            if not analyses(viewer, code):
                return problem_page(403, "Not in your scope",
                                    f"Your token does not give access to {level.value} {code}.")
            async with request.app.state.sessions() as session:
                data = await load(session, code, viewer)
            if data is None:
                return problem_page(404, "No such map", f"There is no {level.value} with code {code}.")
            return HTMLResponse(page(data, options))
        except PageProblem as problem:
            return problem.response
        except Exception as exc:  # every failure is a page a person can read, never a bare 500
            return _failure_page(request, exc)

    return endpoint


def map_routes() -> list[Any]:
    return [
        Route("/maps/districts/{code}", _map_route(Level.DISTRICT, district_data, district_page)),
        Route("/maps/regencies/{code}", _map_route(Level.REGENCY, regency_data, regency_page)),
        Mount("/maps/assets", app=StaticFiles(directory=VENDOR, check_dir=False), name="map-assets"),
    ]
