"""Settings, read once from the environment (and `.env`) and passed down explicitly."""

from __future__ import annotations

import json
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every `PERISAI_*` variable, plus `DATABASE_URL`. See the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PERISAI_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PERISAI_DATABASE_URL")
    )
    data_dir: Path = Path(".perisai/pgdata")
    database_name: str = "perisai"
    host: str = "127.0.0.1"
    port: int = 8000
    jwt_secret: SecretStr | None = None
    statement_timeout_ms: int = Field(default=5_000, gt=0)
    # Database connections per server worker for reads (compiled statements).
    read_pool_size: int = Field(default=10, gt=0)
    max_query_bytes: int = Field(default=100_000, gt=0)
    max_query_tokens: int = Field(default=5_000, gt=0)
    max_query_depth: int = Field(default=20, gt=0)
    max_query_aliases: int = Field(default=30, ge=0)
    max_query_fields: int = Field(default=10_000, gt=0)
    max_query_merges: int = Field(default=2_500, gt=0)
    max_query_cost: int = Field(default=500_000, gt=0)
    max_request_bytes: int = Field(default=4_000_000, gt=0)  # a 1,000-item syncEnrollments batch is ~0.4 MB
    nik_key: SecretStr | None = None
    # Requests without a token act as this role (only `planner`: aggregate figures, no personal
    # data) — for a public coverage dashboard, or load generators that cannot send headers.
    anonymous_role: Literal["planner"] | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @cached_property
    def dev_secrets(self) -> dict[str, str]:
        """Secrets generated once per machine for development, kept beside the data directory."""
        path = self.data_dir.resolve().parent / "dev-secrets.json"
        if path.exists():
            return dict(json.loads(path.read_text()))
        values = {"jwt_secret": secrets.token_urlsafe(32), "nik_key": secrets.token_urlsafe(32)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(values))
        return values

    def secret(self, name: Literal["jwt_secret", "nik_key"]) -> bytes:
        """The named secret; outside production a missing one is generated and remembered."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value().encode()
        if self.production:
            raise MissingSecret(name)
        return self.dev_secrets[name].encode()


class MissingSecret(RuntimeError):
    def __init__(self, name: str) -> None:
        variable = f"PERISAI_{name.upper()}"
        super().__init__(
            f"{variable} is not set. In production (PERISAI_ENV=production) every secret must be "
            f"given explicitly: set {variable} to a long random string, e.g. "
            f"`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
        self.variable = variable
