"""Region names as people write them: "Kabupaten Bantul", "Kota Yogyakarta", "Kecamatan Temon".

The prefix is part of the real name, so it is the same in both languages. Boundary files differ:
regency names usually carry theirs ("Kabupaten Bantul"), district and village names usually do
not ("Temon"), so a prefix is added only when the name does not already start with one.
"""

from __future__ import annotations

from db.regions import Level, is_city

# Prefixes a name may already carry, per level (Papua's districts are "Distrik").
_CARRIED = {
    Level.PROVINCE: ("provinsi", "daerah istimewa", "di ", "dki "),
    Level.REGENCY: ("kabupaten", "kota", "kab.", "kab "),
    Level.DISTRICT: ("kecamatan", "distrik", "kec."),
}


def _prefix(level: Level, code: str) -> str:
    if level is Level.REGENCY:
        return "Kota" if is_city(code) else "Kabupaten"
    return "Provinsi" if level is Level.PROVINCE else "Kecamatan"


def region_name(level: Level | None, code: str | None, name: str | None) -> str:
    """The name a map shows for a region (None level: Indonesia). Villages keep their own name (a
    tooltip says "village"); a region without a name is its prefix and code."""
    if level is None or code is None:
        return "Indonesia"
    if level is Level.VILLAGE:
        return name or code
    if not name:
        return f"{_prefix(level, code)} {code}"
    if name.lower().startswith(_CARRIED[level]):
        return name
    return f"{_prefix(level, code)} {name}"
