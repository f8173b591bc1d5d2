"""Plausible Indonesian-style names for synthetic places and people (Javanese/Malay word parts)."""

from __future__ import annotations

import numpy as np

PLACE_PREFIXES = [
    "Sumber", "Karang", "Tegal", "Sido", "Wono", "Banyu", "Kali", "Giri", "Mekar", "Suka", "Tanjung",
    "Pasir", "Batu", "Ngemplak", "Purwo", "Margo", "Tirto", "Sri", "Jati", "Rejo", "Kebon", "Bukit",
    "Air", "Muara", "Sungai", "Padang", "Lubuk", "Teluk", "Pulau", "Candi",
]
PLACE_SUFFIXES = [
    "rejo", "mulyo", "harjo", "sari", "agung", "jaya", "makmur", "asri", "wangi", "anyar", "kidul",
    "lor", "wetan", "kulon", "tengah", "indah", "baru", "raya", "mukti", "luhur", "santosa", "dadi",
    "martani", "tani", "binangun", "mulya", "permai", "lestari",
]
GIVEN_NAMES = [
    "Siti", "Budi", "Agus", "Dewi", "Sri", "Joko", "Wahyu", "Rina", "Eko", "Yuni", "Andi", "Nur",
    "Made", "Putu", "Ketut", "Ahmad", "Fitri", "Bambang", "Lestari", "Rudi", "Ani", "Hendra", "Wati",
    "Dian", "Teguh", "Ayu", "Rizki", "Indah", "Slamet", "Ratna",
]
FAMILY_NAMES = [
    "Santoso", "Rahayu", "Wijaya", "Saputra", "Hidayat", "Kurniawan", "Lestari", "Pratama", "Setiawan",
    "Nugroho", "Susanto", "Siregar", "Harahap", "Simanjuntak", "Wibowo", "Putri", "Sari", "Utami",
    "Gunawan", "Firmansyah", "Ramadhan", "Purnomo", "Handayani", "Suryani",
]
OCCUPATIONS = [
    "farmer", "fisher", "market trader", "motorcycle-taxi driver", "street vendor", "tailor",
    "construction labourer", "farm labourer", "craftsperson", "home-based food seller",
]


def place_names(rng: np.random.Generator, count: int) -> list[str]:
    prefixes = rng.choice(PLACE_PREFIXES, count)
    suffixes = rng.choice(PLACE_SUFFIXES, count)
    return [f"{p}{s}" if p[-1] not in "aeiou" or s[0] not in "aeiou" else f"{p} {s.title()}"
            for p, s in zip(prefixes, suffixes, strict=False)]


def person_names(rng: np.random.Generator, count: int) -> list[str]:
    given = rng.choice(GIVEN_NAMES, count)
    family = rng.choice(FAMILY_NAMES, count)
    return [f"{g} {f}" for g, f in zip(given, family, strict=False)]
