"""A bad setting stops a command with the variable's name and what to do, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(("env", "said"), [
    ({"PERISAI_PORT": "abc"}, "PERISAI_PORT: Input should be a valid integer"),
    ({"PERISAI_OIDC_ISSUER": "https://sso.example.go.id/realms/bpjs"}, "PERISAI_OIDC_AUDIENCE must be set"),
    ({"PERISAI_PERSISTED_QUERIES_ONLY": "true"}, "needs PERISAI_PERSISTED_QUERIES"),
    ({"PERISAI_OIDC_LEEWAY_S": "3600"}, "PERISAI_OIDC_LEEWAY_S: Input should be less than or equal to 300"),
    ({"PERISAI_TRANSACTION_POOLER": "true"}, "needs PERISAI_LISTEN_URL"),
    ({"PERISAI_POOLER_PREPARED_STATEMENTS": "true"}, "set it with PERISAI_TRANSACTION_POOLER=true"),
    ({"PERISAI_REPLICA_URLS": "postgresql://u@r1/perisai,postgresql://u@r2/perisai"}, "PERISAI_REPLICA_URLS: 'postgresql"),
    ({"PERISAI_REPLICA_URLS": "r1:5432"}, "PERISAI_REPLICA_URLS: 'r1:5432' is not a postgresql:// URL"),
    ({"PERISAI_MAX_REPLICA_LAG_S": "0"}, "PERISAI_MAX_REPLICA_LAG_S: Input should be greater than 0"),
])
@pytest.mark.parametrize("command", [["token", "--role", "admin"], ["serve"]])
def test_a_bad_setting_is_named(env: dict[str, str], said: str, command: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "cli.main", *command], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PERISAI_JWT_SECRET": "x" * 40, **env})
    output = result.stdout + result.stderr
    assert result.returncode == 1 and said in output and "Traceback" not in output, output
