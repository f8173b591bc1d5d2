"""Leaflet and plugin assets, served by the app itself so maps draw with no third-party CDN.

The files come from the npm registry's package tarballs, pinned by version and checked against
the registry's sha512 integrity before anything is extracted. `python -m maps.assets` (run by
`scripts/bootstrap`) fetches whatever is missing into `maps/static/vendor/`; nothing is fetched at
request time. To update: change a version, put the `dist.integrity` of
`https://registry.npmjs.org/<name>/<version>` beside it, run `python -m maps.assets`, and run the
browser tests.

Written by hand rather than with npm: five tarballs and a hash check do not need Node.js on
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

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity, "sha512-<base64>"
    files: tuple[str, ...]  # paths inside the tarball's `package/`; a trailing "/" takes the folder

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
    Package("d3", "3.5.17",  # branca's legends are drawn with d3 v3
            "sha512-yFk/2idb8OHPKkbAL8QaOaqENNoMhIaSHZerk3oQsECwkObkCpJyjYwCe+OHiq6UEdhe1m8ZGARRRO3ljFjlKg==",
            ("d3.min.js", "LICENSE")),
)
_BY_NAME = {p.name: p for p in PACKAGES}


def asset(name: str, filename: str) -> str:
    """The path of a vendored file below the assets folder or URL, e.g. `leaflet@1.9.3/leaflet.js`."""
    package = _BY_NAME[name]
    return f"{package.name}@{package.version}/{filename}"


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


if __name__ == "__main__":
    main()
