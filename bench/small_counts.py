"""What small-count suppression costs writers (migration 0013): one enrollment lapsed and made
active again, one transaction each, in villages whose count crosses k (the hidden cells are
recomputed on their chains) and in villages well above k (nothing to recompute); and the whole
hidden set recomputed from nothing, as a bulk import or a new k does."""

from __future__ import annotations

import random
import time

from sqlalchemy import text

from db.engine import create_engine, create_sessionmaker

SAMPLE = 50
_FLIP = """UPDATE enrollment SET status = CAST(:to AS enrollment_status)
           WHERE id = (SELECT id FROM enrollment WHERE village_code = :v AND status = CAST(:from_ AS enrollment_status)
                       ORDER BY id LIMIT 1)"""


async def measure(url: str) -> dict[str, object]:
    """Milliseconds per write (crossing k or not), per full recomputation, and the hidden set's size."""
    engine = create_engine(url, pool_size=1)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as s:
            k = (await s.execute(text("SELECT small_count_k()"))).scalar_one()
            # A village at k lapsed to k - 1 crosses; one at 4k does not.
            crossing = (await s.execute(text("SELECT village_code FROM village_enrollments WHERE active = :k ORDER BY 1"),
                                        {"k": k})).scalars().all()
            plain = (await s.execute(text("SELECT village_code FROM village_enrollments WHERE active >= 4 * :k ORDER BY 1"),
                                     {"k": k})).scalars().all()
            hidden = (await s.execute(text("SELECT count(*) FROM hidden_enrollment_cell"))).scalar_one()
        rng = random.Random(13)
        result: dict[str, object] = {"k": k, "hidden": hidden}
        for name, villages in (("crossing", crossing), ("plain", plain)):
            times = []
            for village in rng.sample(list(villages), min(SAMPLE, len(villages))):
                for before, after in (("active", "lapsed"), ("lapsed", "active")):
                    started = time.perf_counter()
                    async with sessions() as s, s.begin():
                        await s.execute(text(_FLIP), {"v": village, "from_": before, "to": after})
                    times.append((time.perf_counter() - started) * 1000)
            result[name] = sorted(times)
        full = []
        for _ in range(3):
            started = time.perf_counter()
            async with sessions() as s, s.begin():
                await s.execute(text("SELECT refresh_hidden_cells()"))
            full.append((time.perf_counter() - started) * 1000)
        result["full"] = sorted(full)
        return result
    finally:
        await engine.dispose()


def report(measured: dict[str, object]) -> list[str]:
    def p50(name: str) -> float:
        values = measured[name]
        assert isinstance(values, list)
        return float(values[len(values) // 2])

    return [
        f"{'enrollment write crossing k (chain recomputed)':<48} p50 {p50('crossing'):8.1f} ms",
        f"{'enrollment write well above k':<48} p50 {p50('plain'):8.1f} ms",
        f"{'hidden cells recomputed from nothing':<48} p50 {p50('full'):8.1f} ms "
        f"({measured['hidden']:,} hidden cells, k = {measured['k']})",
    ]
