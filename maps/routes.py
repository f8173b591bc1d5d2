"""HTTP routes of the map pages: `/maps/indonesia`, `/maps/provinces|regencies|districts/{code}`,
`/maps/scenarios/{id}`
(their scripts and styles come from `/assets/`, see web_assets).

Same tokens and scoping as the GraphQL API. A browser tab cannot send headers, so a token may also
come as `?token=`, but only a map link (the short-lived, maps-only tokens that `mapUrl` creates):
an API token in a URL would end up in browser history, proxies and logs, so it is refused there.
Links inside a page carry the map link and the page's options on; a page opened with a header
carries nothing but the options. Pages and refusals are in Bahasa Indonesia unless `?lang=en` or
the browser's Accept-Language asks for English.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from auth.tokens import MAP_LINK, InvalidToken, bearer
from db.access import Viewer, analyses
from db.engine import is_statement_timeout, is_unavailable
from db.regions import Level
from maps.access import Refusal, read
from maps.classes import CLASSIFICATIONS, METRICS
from maps.district import district_data, district_page
from maps.escape import text
from maps.i18n import DEFAULT, LANGUAGES, Language, choose, language
from maps.legend import level_noun
from maps.page import BASEMAPS, Links, PageOptions
from maps.regions import region_data, region_page
from maps.scenario import scenario_data, scenario_page

log = logging.getLogger("perisai.maps")

CHOICES = {"metric": METRICS, "basemap": BASEMAPS, "classification": CLASSIFICATIONS}


def problem_page(lang: Language, status: int, title: str, detail: str) -> HTMLResponse:
    body = f"""<!doctype html><html lang="{lang.code}"><head><meta charset="utf-8"><title>{status} {text(title)}</title>
<style>body{{font:16px/1.5 sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}}</style></head>
<body><h1>{text(title)}</h1><p>{text(detail)}</p><p><small>HTTP {status}</small></p></body></html>"""
    return HTMLResponse(body, status_code=status, headers={"Content-Language": lang.code})


class PageProblem(Exception):
    def __init__(self, response: HTMLResponse) -> None:
        self.response = response


def _language(request: Request) -> Language:
    chosen = choose(request.query_params.get("lang"), request.headers.get("accept-language"))
    if chosen is None:
        lang = language(DEFAULT)
        raise PageProblem(problem_page(lang, 400, lang._("Unknown language"), lang._(
            "lang={value} is not one of: {allowed}.").format(value=request.query_params["lang"], allowed=", ".join(LANGUAGES))))
    return language(chosen)


async def _viewer(request: Request, lang: Language) -> tuple[Viewer, str | None]:
    """The caller, and the link token to carry on in links (None when it came as a header)."""
    _ = lang._
    header = bearer(request.headers.get("authorization"))
    link = request.query_params.get("token")
    if not header and not link:
        raise PageProblem(problem_page(lang, 401, _("Sign in needed"),
                                       _("Open this map from its mapUrl link, or send Authorization: Bearer <token>.")))
    try:
        if header:
            return await request.app.state.sign_in.viewer(header, uses=(None, MAP_LINK)), None
        return await request.app.state.sign_in.viewer(str(link), uses=(MAP_LINK,)), link
    except InvalidToken as exc:
        log.info("map link refused: %s", exc)
        raise PageProblem(problem_page(lang, 401, _("This link cannot be used"),
                                       _("This link has expired or is not valid. Ask the API for a new mapUrl."))) from exc


def _options(request: Request, lang: Language, link: str | None) -> PageOptions:
    values = {}
    for name, allowed in CHOICES.items():
        value = request.query_params.get(name, allowed[0])
        if value not in allowed:
            raise PageProblem(problem_page(lang, 400, lang._("Unknown {name}").format(name=name), lang._(
                "{name}={value} is not one of: {allowed}.").format(name=name, value=value, allowed=", ".join(allowed))))
        values[name] = value
    carried = {**values, **({"lang": request.query_params["lang"]} if "lang" in request.query_params else {}),
               **({"token": link} if link else {})}
    return PageOptions(**values, lang=lang.code, links=Links(suffix="?" + urlencode(carried)))


def _failure_page(request: Request, lang: Language, exc: Exception) -> HTMLResponse:
    """A short page instead of a bare 500: 503 to retry when the database is away or too slow."""
    _ = lang._
    if is_unavailable(exc) or is_statement_timeout(exc):
        log.warning("map %s unavailable: %s", request.url.path, exc)
        busy = problem_page(lang, 503, _("The map cannot be drawn right now"),
                            _("The database is busy or restarting. Reload the page in a few seconds."))
        busy.headers["Retry-After"] = "5"
        return busy
    error_id = uuid.uuid4().hex[:12]
    log.error("unexpected error %s drawing %s", error_id, request.url.path, exc_info=exc)
    return problem_page(lang, 500, _("The map could not be drawn"),
                        _("Something went wrong on our side (reference {id}); it has been logged.").format(id=error_id))


Page = Callable[[Any, PageOptions], str]


def _map_route(level: Level | None, load: Callable[..., Awaitable[Any]], page: Page,
               region_path: bool = True) -> Callable[[Request], Awaitable[HTMLResponse]]:
    """A map page; `region_path`: the path names a region the caller must analyse (otherwise the
    loader scopes what it finds, and finding nothing is a 404)."""
    async def endpoint(request: Request) -> HTMLResponse:
        lang = language(DEFAULT)
        code = request.path_params.get("code")
        try:
            lang = _language(request)
            viewer, link = await _viewer(request, lang)
            options = _options(request, lang, link)
            if level is not None and Level.of_code(code or "") is not level:
                return problem_page(lang, 404, lang._("No such map"), lang._("{code} is not a {level} code like {example}.")
                                    .format(code=code, level=level_noun(lang, level).lower(), example=level.example))
            if region_path and not analyses(viewer, code):
                return problem_page(lang, 403, lang._("Not in your scope"), lang._(
                    "Your token does not give access to this map."))
            try:
                data = await read(request, lambda session: load(session, code, viewer))
            except Refusal as refused:
                return problem_page(lang, 400, lang._("This request cannot be answered"), str(refused))
            if data is None and not region_path:
                return problem_page(lang, 404, lang._("No such map"), lang._(
                    "There is no scenario {id} that you can see.").format(id=code))
            if data is None:
                return problem_page(lang, 404, lang._("No such map"), lang._("There is no {level} with code {code}.")
                                    .format(level=level_noun(lang, level).lower() if level else "", code=code))
            return HTMLResponse(page(data, options), headers={"Content-Language": lang.code, "Vary": "Accept-Language"})
        except PageProblem as problem:
            return problem.response
        except Exception as exc:  # every failure is a page a person can read, never a bare 500
            return _failure_page(request, lang, exc)

    return endpoint


def _regions(level: Level | None) -> Callable[..., Awaitable[Any]]:
    async def load(session: Any, code: str | None, viewer: Viewer) -> Any:
        return await region_data(session, level, code, viewer)

    return load


def map_routes() -> list[Any]:
    return [
        Route("/maps/indonesia", _map_route(None, _regions(None), region_page)),
        Route("/maps/provinces/{code}", _map_route(Level.PROVINCE, _regions(Level.PROVINCE), region_page)),
        Route("/maps/regencies/{code}", _map_route(Level.REGENCY, _regions(Level.REGENCY), region_page)),
        Route("/maps/districts/{code}", _map_route(Level.DISTRICT, district_data, district_page)),
        Route("/maps/scenarios/{code}", _map_route(None, scenario_data, scenario_page, region_path=False)),
    ]
