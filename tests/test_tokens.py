"""`perisai token` and token verification."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from auth.tokens import InvalidToken, issue, key_id, parse_duration, viewer_from_token
from db.access import Role

SECRET = "cli-test-secret-cli-test-secret-0123456789"


def perisai_token(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PERISAI_JWT_SECRET": SECRET}
    return subprocess.run([sys.executable, "-m", "cli.main", "token", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_cli_prints_a_manager_token_with_scope_and_lifetime() -> None:
    result = perisai_token("--role", "manager", "--scope", "34.71", "--scope", "34.02", "--ttl", "8h")
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"], issuer="perisai-coverage")
    assert (claims["role"], claims["scope"]) == ("manager", ["34.71", "34.02"])
    assert claims["exp"] - claims["iat"] == 8 * 3600
    viewer = viewer_from_token(SECRET.encode(), result.stdout.strip())
    assert viewer.role is Role.MANAGER and viewer.scope == ("34.71", "34.02")


@pytest.mark.parametrize("args, message", [
    (["--role", "manager"], "needs at least one region code"),
    (["--role", "manager", "--scope", "34-71"], "not a region code"),
    (["--role", "agent"], "needs the agent's code"),
    (["--role", "planner", "--scope", "34"], "only manager tokens carry a scope"),
    (["--role", "admin", "--ttl", "forever"], "not like 30m, 8h or 7d"),
    (["--role", "boss"], "'boss' is not one of"),
])
def test_cli_refuses_incomplete_tokens(args: list[str], message: str) -> None:
    result = perisai_token(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_tokens_expire_and_are_bound_to_the_secret() -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    old = issue(SECRET.encode(), subject="a", role=Role.ADMIN, ttl=dt.timedelta(hours=1), now=past)
    with pytest.raises(InvalidToken, match="expired"):
        viewer_from_token(SECRET.encode(), old)
    fresh = issue(SECRET.encode(), subject="a", role=Role.AGENT, agent_code="AG-000001")
    with pytest.raises(InvalidToken, match="signed with another secret"):
        viewer_from_token(b"another-secret-another-secret-0123", fresh)
    assert viewer_from_token(SECRET.encode(), fresh).agent_code == "AG-000001"
    assert parse_duration("90s") == dt.timedelta(seconds=90) and parse_duration("7d") == dt.timedelta(days=7)


def test_a_token_verified_once_is_still_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signatures are remembered per token (auth.tokens._verified); expiry is checked on every use."""
    token = issue(SECRET.encode(), subject="m", role=Role.MANAGER, scope=("34",), ttl=dt.timedelta(seconds=60))
    assert viewer_from_token(SECRET.encode(), token).scope == ("34",)
    later = dt.datetime.now(dt.UTC).timestamp() + 61
    monkeypatch.setattr("auth.tokens.time.time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        viewer_from_token(SECRET.encode(), token)
    monkeypatch.undo()
    with pytest.raises(InvalidToken, match="another secret"):  # remembered for its own secret only
        viewer_from_token(b"another-secret-another-secret-0123", token)


def test_development_secrets_are_one_per_user_whatever_the_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from settings import Settings

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("PERISAI_JWT_SECRET", "PERISAI_NIK_KEY", "PERISAI_ENV"):
        monkeypatch.delenv(name, raising=False)
    earlier = tmp_path / "old" / "dev-secrets.json"  # where a data directory's parent kept them before
    earlier.parent.mkdir()
    earlier.write_text('{"jwt_secret": "kept-from-before-kept-from-before", "nik_key": "nik-kept-from-before"}')
    first = Settings(data_dir=tmp_path / "old" / "pgdata", _env_file=None)
    assert first.secret("nik_key") == b"nik-kept-from-before"  # adopted: enrolled NIKs keep matching
    other = Settings(data_dir=tmp_path / "elsewhere" / "pgdata", _env_file=None)
    assert other.secret("jwt_secret") == b"kept-from-before-kept-from-before"
    assert str(tmp_path / "config" / "perisai" / "dev-secrets.json") in other.secret_source("jwt_secret")
    assert (tmp_path / "config" / "perisai" / "dev-secrets.json").stat().st_mode & 0o777 == 0o600


def test_a_token_signed_with_another_secret_says_which_key_signed_it(server: str) -> None:
    from tests.conftest import JWT_SECRET, error_codes, post

    foreign = issue(b"another-secret-another-secret-0123", subject="a", role=Role.ADMIN)
    body = post(server, "{ me { role } }", auth=foreign)
    message = body["errors"][0]["message"]
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert f"key {key_id(b'another-secret-another-secret-0123')}" in message
    assert f"key {key_id(JWT_SECRET.encode())}, PERISAI_JWT_SECRET" in message
