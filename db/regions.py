"""The four administrative levels and their Kemendagri codes (`34`, `34.71`, `34.71.01`, `34.71.01.1001`)."""

from __future__ import annotations

import enum
import re


class Level(enum.StrEnum):
    PROVINCE = "province"
    REGENCY = "regency"
    DISTRICT = "district"
    VILLAGE = "village"

    @property
    def table(self) -> str:
        return self.value

    @property
    def plural(self) -> str:
        return {"province": "provinces", "regency": "regencies", "district": "districts", "village": "villages"}[self.value]

    @property
    def parent(self) -> Level | None:
        index = LEVELS.index(self)
        return LEVELS[index - 1] if index else None

    @property
    def parent_column(self) -> str | None:
        return f"{self.parent.value}_code" if self.parent else None

    @property
    def pattern(self) -> re.Pattern[str]:
        return _PATTERNS[self]

    @property
    def example(self) -> str:
        return _EXAMPLES[self]

    @classmethod
    def of_code(cls, code: str) -> Level | None:
        """The level a well-formed code belongs to, or None."""
        return next((level for level in LEVELS if level.pattern.fullmatch(code)), None)


LEVELS: tuple[Level, ...] = (Level.PROVINCE, Level.REGENCY, Level.DISTRICT, Level.VILLAGE)
# [0-9], not \d: Python's \d also matches other scripts' digits ("٣٤"), which no code has.
_PATTERNS = {
    Level.PROVINCE: re.compile(r"[0-9]{2}"),
    Level.REGENCY: re.compile(r"[0-9]{2}\.[0-9]{2}"),
    Level.DISTRICT: re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}"),
    Level.VILLAGE: re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}"),
}
_EXAMPLES = {
    Level.PROVINCE: "34",
    Level.REGENCY: "34.71",
    Level.DISTRICT: "34.71.01",
    Level.VILLAGE: "34.71.01.1001",
}


def parent_code(code: str) -> str:
    """`34.71.01.1001` -> `34.71.01`."""
    return code.rsplit(".", 1)[0]


def is_city(regency_code: str) -> bool:
    """A kota (city) rather than a kabupaten: Kemendagri numbers cities from 71 (`34.71`)."""
    return int(regency_code[3:5]) >= 71


def ancestor_codes(code: str) -> list[str]:
    """`34.71.01.1001` -> [`34`, `34.71`, `34.71.01`]."""
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


# Official province names (Kemendagri), used for provinces known only through their children's
# codes: the boundary files are per regency, district and village, not per province.
PROVINCE_NAMES = {
    "11": "Aceh", "12": "Sumatera Utara", "13": "Sumatera Barat", "14": "Riau", "15": "Jambi",
    "16": "Sumatera Selatan", "17": "Bengkulu", "18": "Lampung", "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau", "31": "DKI Jakarta", "32": "Jawa Barat", "33": "Jawa Tengah",
    "34": "DI Yogyakarta", "35": "Jawa Timur", "36": "Banten", "51": "Bali",
    "52": "Nusa Tenggara Barat", "53": "Nusa Tenggara Timur", "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah", "63": "Kalimantan Selatan", "64": "Kalimantan Timur",
    "65": "Kalimantan Utara", "71": "Sulawesi Utara", "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan", "74": "Sulawesi Tenggara", "75": "Gorontalo", "76": "Sulawesi Barat",
    "81": "Maluku", "82": "Maluku Utara", "91": "Papua", "92": "Papua Barat",
    "93": "Papua Selatan", "94": "Papua Tengah", "95": "Papua Pegunungan", "96": "Papua Barat Daya",
}
