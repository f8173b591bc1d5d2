"""GraphiQL with no internet: `/graphql` in headless Chromium with every non-loopback request
refused. A person enters a token in the headers pane, runs a query and sees data, as README says."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import pytest

from server.graphiql import graphiql_html
from tests.conftest import fetch, token
from tests.test_maps_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)")

QUERY = '{ village(code: "99.01.01.2001") { code name } }'


def test_the_page_loads_nothing_from_a_cdn() -> None:
    page = graphiql_html()
    assert "unpkg.com" not in page and "cdn" not in page.lower()
    assert page.count('src="/assets/') + page.count('href="/assets/') == 7


def test_every_graphiql_asset_is_served_with_its_integrity(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers={"accept": "text/html"}, timeout=30).text
    for url, integrity in re.findall(r'(?:src|href)="(/assets/[^"]+)"\s+integrity="(sha384-[^"]+)"', page):
        body = httpx.get(f"{server}{url}", timeout=30).content
        assert "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode() == integrity, url


def test_a_person_enters_a_token_and_runs_a_query_offline(browser: Any, server: str, shared_demo_db: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    refused: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if urlparse(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/graphql?q={quote(QUERY)}", wait_until="load")
    page.wait_for_selector(".graphiql-execute-button")
    page.get_by_role("button", name="Headers").click()
    headers = json.dumps({"Authorization": f"Bearer {token('planner')}"})
    page.locator(".graphiql-editor-tool .CodeMirror").last.evaluate("(el, v) => el.CodeMirror.setValue(v)", headers)
    page.locator(".graphiql-execute-button").click()
    name = fetch(shared_demo_db, "SELECT name FROM village WHERE code = '99.01.01.2001'")[0]["name"]
    page.wait_for_function("name => document.querySelector('.result-window').innerText.includes(name)", arg=name,
                           timeout=20_000)
    answer = json.loads(page.locator(".result-window .CodeMirror").evaluate("el => el.CodeMirror.getValue()"))
    assert answer == {"data": {"village": {"code": "99.01.01.2001", "name": name}}}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
    assert refused == [] and errors == []
    context.close()
