"""NIK (Nomor Induk Kependudukan, the national ID number): validation, keyed hash, last 4 digits.

A NIK is 16 digits: province (2), regency (2), district (2) of registration, birth date as DDMMYY
(women add 40 to the day), and a 4-digit serial. It is personal data: only its HMAC-SHA256 under
a secret key (to find the same person twice) and its last 4 digits are ever stored.

One person must hash to one value, so a NIK is NFKC-normalised first (a fullwidth `５` typed on a
phone keyboard becomes `5`) and then must be ASCII digits: other scripts' digits (`٠١٢`, `०१२`)
are refused rather than guessed. Every function here normalises, so no caller can forget to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import unicodedata

from db.regions import PROVINCE_NAMES


def normalise(nik: str) -> str:
    """The canonical form that is validated, hashed and cut to its last 4 digits."""
    return unicodedata.normalize("NFKC", nik)


def nik_problem(nik: str) -> str | None:
    """Why `nik` is not a plausible NIK, or None.

    >>> nik_problem("3471015708900001") is None
    True
    >>> nik_problem("3471013213900001")
    'birth date part 321390 is not a date (DDMMYY, day + 40 for women)'
    """
    nik = normalise(nik)
    if len(nik) != 16 or not (nik.isascii() and nik.isdigit()):
        return "must be exactly 16 digits 0-9"
    if nik[:2] not in PROVINCE_NAMES:
        return f"region part starts with {nik[:2]}, which is not an Indonesian province code"
    if nik[2:4] == "00" or nik[4:6] == "00":
        return f"region part {nik[:6]} has a zero regency or district"
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    try:
        dt.date(2000 + year, month, day)  # a leap year century, so 29 Feb is accepted
    except ValueError:
        return f"birth date part {nik[6:12]} is not a date (DDMMYY, day + 40 for women)"
    if nik[12:] == "0000":
        return "serial part 0000 is never issued"
    return None


def nik_hash(nik: str, key: bytes) -> bytes:
    return hmac.new(key, normalise(nik).encode(), hashlib.sha256).digest()


def nik_last4(nik: str) -> str:
    return normalise(nik)[-4:]
