"""GraphiQL (`GET /graphql` in a browser, outside production) loading its scripts and styles from
the app's own `/assets/` instead of unpkg.com, so it works with no internet.

Strawberry's page is kept as it is apart from the asset URLs: the same versions (pinned in
web_assets), and its `integrity` attributes still hold because the files are byte for byte the
npm packages unpkg serves. A test fails if Strawberry's page starts loading a file we do not
vendor (after an upgrade), rather than silently reaching for a CDN again.
"""

from __future__ import annotations

import re
from functools import cache

from strawberry.http.ides import get_graphql_ide_html

from web_assets import PACKAGES, URL

CDN = re.compile(r"https://unpkg\.com/((?:@[^/@]+/)?[^/@]+)@([^/]+)/([^\"']+)")


class UnvendoredAsset(RuntimeError):
    pass


def _local(match: re.Match[str]) -> str:
    name, version, path = match.groups()
    package = next((p for p in PACKAGES if p.name == name and p.version == version), None)
    filename = path.rsplit("/", 1)[-1]
    if package is None or not any(f.endswith(filename) for f in package.files):
        raise UnvendoredAsset(f"GraphiQL loads {match.group(0)}, which web_assets does not vendor")
    return f"{URL}/{name}@{version}/{filename}"


@cache
def graphiql_html() -> str:
    page = CDN.sub(_local, get_graphql_ide_html("graphiql"))
    return page.replace("<title>Strawberry GraphiQL</title>", "<title>perisai-coverage · GraphiQL</title>")
