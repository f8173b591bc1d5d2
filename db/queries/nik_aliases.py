"""Participants that may be one person recorded twice, from NIKs typed in other forms of digits.

Before NIKs were normalised (db/nik.py), `3401015204957771` and `340101５204957771` hashed to two
participants. Only hashes are stored, so the database alone can only point at candidates (same
last 4 digits and the same name); given the raw NIKs (an export from the field app, the files
that were imported), the aliases can be found exactly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.nik import nik_hash, normalise


@dataclass(frozen=True)
class Alias:
    """Two participants for one person: `stored_as` was keyed by a NIK in another form of digits."""

    participant_id: int | None  # keyed by the normalised NIK; None when only the alias exists
    alias_id: int
    nik_last4: str
    certain: bool  # True: both hashes found from a raw NIK; False: same last 4 digits and name


async def candidates(session: AsyncSession) -> list[Alias]:
    """Pairs with the same last 4 digits and the same name (case and spacing ignored)."""
    rows = (await session.execute(text("""
        SELECT a.id AS keep, b.id AS alias, a.nik_last4
        FROM participant a JOIN participant b
          ON b.nik_last4 = a.nik_last4 AND lower(btrim(b.name)) = lower(btrim(a.name)) AND b.id > a.id
        ORDER BY a.id, b.id
    """))).all()
    return [Alias(r.keep, r.alias, r.nik_last4, certain=False) for r in rows]


async def from_raw_niks(session: AsyncSession, niks: Iterable[str], key: bytes) -> list[Alias]:
    """For each raw NIK whose normalised form differs, the participants keyed by either form."""
    pairs = {(_raw_hash(n, key), nik_hash(n, key)): normalise(n)[-4:] for n in niks if normalise(n) != n}
    if not pairs:
        return []
    rows = (await session.execute(text("""
        SELECT i.n, a.id AS alias, p.id AS keep
        FROM unnest(CAST(:raw AS bytea[]), CAST(:canonical AS bytea[])) WITH ORDINALITY AS i(raw, canonical, n)
        JOIN participant a ON a.nik_hash = i.raw
        LEFT JOIN participant p ON p.nik_hash = i.canonical
        ORDER BY i.n
    """), {"raw": [r for r, _ in pairs], "canonical": [c for _, c in pairs]})).all()
    last4 = list(pairs.values())
    return [Alias(r.keep, r.alias, last4[r.n - 1], certain=True) for r in rows]


def _raw_hash(nik: str, key: bytes) -> bytes:
    """The hash a NIK got before normalisation (its exact characters)."""
    return hmac.new(key, nik.encode(), hashlib.sha256).digest()
