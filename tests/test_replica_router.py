"""The read router's arithmetic, without databases: WAL positions as clients send them, and a
replica's lag dated from the primary's history (the replica tests check it against real standbys)."""

from __future__ import annotations

import pytest

from db.engine import is_recovery_conflict
from db.replicas import ReadRouter, Replica, format_lsn, parse_lsn


@pytest.mark.parametrize("text", ["0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF", " 0/3000148 "])
def test_positions_read_back_as_postgresql_writes_them(text: str) -> None:
    assert format_lsn(parse_lsn(text)) == text.strip().upper()


@pytest.mark.parametrize("text", ["yesterday", "", "/", "1/", "/1", "+1/2", "1_0/2", "1/2/3", "123456789/1",
                                  "１/2", "0x1/2", "1 /2", "1/2\x00"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="WAL position"):
        parse_lsn(text)


def _router(history: list[tuple[float, int]]) -> ReadRouter:
    router = ReadRouter(primary=None, primary_sessions=None, replicas=[], max_lag_s=5.0)  # type: ignore[arg-type]
    router._history.extend(history)
    return router


def test_lag_is_the_age_of_the_oldest_write_not_replayed() -> None:
    router = _router([(100.0, 10), (101.0, 20), (102.0, 30)])
    assert router._lag(30, now=110.0) == 0.0  # everything the primary had: an idle primary ages nothing
    assert router._lag(25, now=110.0) == 8.0  # missing what the primary held at 102
    assert router._lag(10, now=110.0) == 9.0  # missing what it held at 101
    assert router._lag(None, now=110.0) is None


def test_a_replica_serves_only_when_reachable_in_recovery_fresh_and_far_enough() -> None:
    replica = Replica("r", pool=None, engine=None)  # type: ignore[arg-type]
    replica.reachable, replica.in_recovery, replica.lag_s, replica.replay_lsn = True, True, 1.0, 100
    assert replica.serves(5.0, None) and replica.serves(5.0, 100)
    assert not replica.serves(5.0, 101)  # has not replayed the client's write
    assert not replica.serves(0.5, None)  # too far behind
    replica.in_recovery = False
    assert not replica.serves(5.0, None)  # promoted: no longer a copy of the primary


class _Coded(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


class _Wrapped(Exception):  # as SQLAlchemy wraps a driver's error
    def __init__(self, orig: Exception) -> None:
        super().__init__(str(orig))
        self.orig = orig


@pytest.mark.parametrize(("error", "conflict"), [
    (_Coded("40001"), True), (_Coded("40P01"), True), (_Wrapped(_Coded("40001")), True),
    (_Coded("57014"), False), (_Coded("23505"), False), (ValueError("x"), False),
])
def test_a_conflict_with_recovery_is_told_from_other_errors(error: Exception, conflict: bool) -> None:
    """A standby cancels a read whose rows replay needs (40001, 40P01): that read is retried on the
    primary; a timeout or a constraint is the read's own fault and is not."""
    assert is_recovery_conflict(error) is conflict
