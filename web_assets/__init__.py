"""Browser assets served by the app itself, so maps and GraphiQL work with no third-party CDN:
Leaflet and its plugins for the maps, React and GraphiQL for the API explorer.

The files come from the npm registry's package tarballs, pinned by version and checked against
the registry's sha512 integrity before anything is extracted. `python -m web_assets` (run by
`scripts/bootstrap`) fetches whatever is missing into `web_assets/vendor/`; nothing is fetched at
request time. The app serves the folder at `/assets/`. To update: change a version, put the
`dist.integrity` of `https://registry.npmjs.org/<name>/<version>` beside it, run
`python -m web_assets`, and run the browser tests.

Written by hand rather than with npm: nine tarballs and a hash check do not need Node.js on
every server, and Python's tarfile extracts only the listed members.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "vendor"
# A shield (perisai) in the agency's green, inline: map pages and GraphiQL name their icon, so
# browsers do not ask for /favicon.ico, and an exported folder needs no file for it.
FAVICON_LINK = ('<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27 '
                'viewBox=%270 0 16 16%27%3E%3Cpath d=%27M8 1 2 3v5c0 3.5 2.6 6.2 6 7 3.4-.8 6-3.5 6-7V3z%27 '
                'fill=%27%23006b3f%27/%3E%3C/svg%3E">')
URL = "/assets"  # where the app serves VENDOR
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity, "sha512-<base64>"
    files: tuple[str, ...]  # paths inside the tarball's `package/`; a trailing "/" takes the folder
    use: str = "maps"  # maps | graphiql: map exports copy only what maps use

    @property
    def folder(self) -> Path:
        return VENDOR / f"{self.name}@{self.version}"

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


PACKAGES = (
    Package("leaflet", "1.9.3",
            "sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/uSIzhZgGMfQ==",
            ("dist/leaflet.js", "dist/leaflet.css", "dist/images/", "LICENSE")),
    Package("leaflet.fullscreen", "3.0.0",
            "sha512-81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ==",
            ("Control.FullScreen.js", "Control.FullScreen.css", "icon-fullscreen.svg", "LICENSE")),
    Package("leaflet.markercluster", "1.1.0",
            "sha512-eI+XkCiLiHwCC3uZ4/n4+Vq3rXcqEHN2lhHRVG1WVziy/3Q0TTipWkzEa1zO0dKZI2AnI5ppFDWrOjnQ7MJLKQ==",
            ("dist/leaflet.markercluster.js", "dist/MarkerCluster.css", "dist/MarkerCluster.Default.css",
             "MIT-LICENCE.txt")),
    Package("jquery", "3.7.1",  # Folium's popups are built with $(…)
            "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
            ("dist/jquery.min.js", "LICENSE.txt")),
    # GraphiQL as Strawberry's page loads it (server/graphiql.py), the same versions.
    Package("react", "18.2.0",
            "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
            ("umd/react.production.min.js", "LICENSE"), "graphiql"),
    Package("react-dom", "18.2.0",
            "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
            ("umd/react-dom.production.min.js", "LICENSE"), "graphiql"),
    Package("js-cookie", "3.0.5",
            "sha512-cEiJEAEoIbWfCZYKWhVwFuvPX1gETRYPw6LlaTKoxD3s2AkXzkCjnp6h0V77ozyqj0jakteJ4YqDJT830+lVGw==",
            ("dist/js.cookie.min.js", "LICENSE"), "graphiql"),
    Package("graphiql", "3.8.3",
            "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
            ("graphiql.min.js", "graphiql.min.css", "LICENSE"), "graphiql"),
    Package("@graphiql/plugin-explorer", "1.0.2",
            "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
            ("dist/index.umd.js", "dist/style.css", "LICENSE"), "graphiql"),
)
_BY_NAME = {p.name: p for p in PACKAGES}


def asset(name: str, filename: str) -> str:
    """The path of a vendored file below the assets folder or URL, e.g. `leaflet@1.9.3/leaflet.js`."""
    package = _BY_NAME[name]
    return f"{package.name}@{package.version}/{filename}"


def folders(use: str) -> list[Path]:
    """The vendored folders of the packages that `use` ("maps" or "graphiql") loads."""
    return [p.folder for p in PACKAGES if p.use == use]


def missing() -> list[Package]:
    return [p for p in PACKAGES if not (p.folder / ".complete").exists()]


class AssetError(RuntimeError):
    pass


def _verified(package: Package, data: bytes) -> bytes:
    algorithm, _, expected = package.integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise AssetError(f"{package.tarball} does not match its pinned integrity; not extracted")
    return data


def fetch(package: Package) -> None:
    """Download, verify and extract one package's listed files (flattened into its folder)."""
    with urllib.request.urlopen(package.tarball, timeout=60) as response:  # noqa: S310 - fixed https URL
        data = _verified(package, response.read())
    shutil.rmtree(package.folder, ignore_errors=True)
    package.folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            inner = member.name.removeprefix("package/")
            for wanted in package.files:
                if not member.isfile():
                    continue
                if wanted.endswith("/") and inner.startswith(wanted):
                    target = package.folder / wanted.rstrip("/").split("/")[-1] / inner[len(wanted):]
                elif inner == wanted:
                    target = package.folder / Path(inner).name
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    (package.folder / ".complete").write_text(package.integrity)


def main() -> None:
    for package in missing():
        print(f"fetching {package.name}@{package.version} from the npm registry")
        fetch(package)
