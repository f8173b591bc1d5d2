"""Settings, read once from the environment (and `.env`) and passed down explicitly."""

from __future__ import annotations

import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from auth.oidc import OidcSettings
from db.engine import Pooler


def read_pool_default(workers: int, cores: int | None = None) -> int:
    """Each worker's read connections when PERISAI_READ_POOL_SIZE is unset: 2 × cores + 1 over all
    workers (the PostgreSQL wiki's rule for a database on these cores), at least 2, so one slow
    statement never holds a worker's only connection. More connections than that add no throughput
    and make PostgreSQL's backends and the workers wait for each other's time slices: 10 per worker
    on 2 cores put the peer benchmark's p99 at 130-150 ms, 3 at ~50, at the same req/s
    (BENCHMARKS.md)."""
    # The cores this process may run on (taskset, containers); macOS has no affinity call.
    cores = cores or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    return max(2, -(-(2 * cores + 1) // workers))


class Settings(BaseSettings):
    """Every `PERISAI_*` variable, plus `DATABASE_URL`. See the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PERISAI_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PERISAI_DATABASE_URL")
    )
    # Streaming replicas that serve reads, space-separated URLs (db/replicas.py); writes, mutations'
    # reads and subscriptions' LISTEN use DATABASE_URL, the primary.
    replica_urls: str = ""
    # The database URLs lead to a PgBouncer in transaction pooling mode: no prepared statement
    # outlives its transaction and no startup parameter is sent (README: Running on several machines).
    transaction_pooler: bool = False
    # That pooler keeps protocol-level prepared statements (PgBouncer ≥ 1.21 with
    # max_prepared_statements > 0), so statements stay prepared and planned once per connection.
    pooler_prepared_statements: bool = False
    # Subscriptions' LISTEN needs a session of its own on the primary, never through such a pooler.
    listen_url: str | None = None
    max_replica_lag_s: float = Field(default=5.0, gt=0)  # a replica further behind serves no reads
    data_dir: Path = Path(".perisai/pgdata")
    database_name: str = "perisai"
    host: str = "127.0.0.1"
    port: int = 8000
    jwt_secret: SecretStr | None = None
    statement_timeout_ms: int = Field(default=5_000, gt=0)
    # Database connections per server worker for reads (compiled statements); `perisai serve
    # --workers N` divides the default among its N workers.
    read_pool_size: int = Field(default_factory=lambda: read_pool_default(1), gt=0)
    max_query_bytes: int = Field(default=100_000, gt=0)
    max_query_tokens: int = Field(default=5_000, gt=0)
    max_query_depth: int = Field(default=20, gt=0)
    max_query_aliases: int = Field(default=30, ge=0)
    max_query_fields: int = Field(default=10_000, gt=0)
    max_query_merges: int = Field(default=2_500, gt=0)
    max_query_cost: int = Field(default=500_000, gt=0)
    max_request_bytes: int = Field(default=4_000_000, gt=0)  # a 1,000-item syncEnrollments batch is ~0.4 MB
    # Enrollment counts of 1 to k - 1 are suppressed for roles without personal data (migration 0013).
    # One k per database: the server stores it there at start-up (recomputing what is hidden).
    small_count_k: int = Field(default=5, ge=2, le=100)
    nik_key: SecretStr | None = None
    # Requests without a token act as this role (only `planner`: aggregate figures, no personal
    # data) — for a public coverage dashboard, or load generators that cannot send headers.
    anonymous_role: Literal["planner"] | None = None
    otel_traces_endpoint: str | None = None  # OTLP/HTTP collector for traces (server/tracing.py); unset: off
    metrics_token: SecretStr | None = None  # when set, /metrics asks for it as a bearer token
    # Browser origins allowed to call the API (CORS), comma-separated: "https://dashboard.example.go.id".
    cors_origins: str = ""
    compress_min_bytes: int = Field(default=1_000, ge=0)  # smaller responses are sent as they are
    # Registered GraphQL documents (Apollo persisted-query manifest or {sha256: document}); with
    # persisted_queries_only, the only documents accepted (server/persisted.py).
    persisted_queries: Path | None = None
    persisted_queries_only: bool = False
    # Sign-in through an OpenID Connect provider (auth/oidc.py); unset: only our own HS256 tokens.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "perisai_role"
    oidc_scope_claim: str = "perisai_scope"
    oidc_agent_claim: str = "perisai_agent"
    oidc_leeway_s: int = Field(default=60, ge=0, le=300)  # clock skew allowed on exp/nbf/iat
    oidc_jwks_cache_s: int = Field(default=300, gt=0)
    oidc_jwks_refetch_s: int = Field(default=10, gt=0)

    @model_validator(mode="after")
    def _persisted_complete(self) -> Settings:
        if self.persisted_queries_only and self.persisted_queries is None:
            raise ValueError("PERISAI_PERSISTED_QUERIES_ONLY needs PERISAI_PERSISTED_QUERIES (the file of registered "
                             "documents); without it no request could be answered")
        return self

    @model_validator(mode="after")
    def _replicas_are_urls(self) -> Settings:
        for url in self.replicas:
            if not url.startswith(("postgresql://", "postgres://")) or url.count("://") != 1:  # commas instead of spaces
                raise ValueError(f"PERISAI_REPLICA_URLS: {url[:40]!r} is not a postgresql:// URL; list the replicas' "
                                 "URLs separated by spaces, like postgresql://user:pass@replica1:5432/perisai")
        return self

    @model_validator(mode="after")
    def _listen_direct(self) -> Settings:
        if self.transaction_pooler and not self.listen_url:
            raise ValueError("PERISAI_TRANSACTION_POOLER needs PERISAI_LISTEN_URL: the primary's own address (not "
                             "the pooler's), where subscriptions LISTEN; a transaction pooler drops LISTEN after "
                             "each statement")
        return self

    @model_validator(mode="after")
    def _prepared_through_a_pooler(self) -> Settings:
        if self.pooler_prepared_statements and not self.transaction_pooler:
            raise ValueError("PERISAI_POOLER_PREPARED_STATEMENTS describes the transaction pooler: set it with "
                             "PERISAI_TRANSACTION_POOLER=true (straight to PostgreSQL, statements stay prepared anyway)")
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("PERISAI_OIDC_AUDIENCE must be set with PERISAI_OIDC_ISSUER "
                             "(the client id or audience the provider puts in `aud`)")
        return self

    def oidc(self) -> OidcSettings | None:
        """The provider's settings, or None when sign-in is by our own tokens only."""
        if not self.oidc_issuer or not self.oidc_audience:
            return None
        return OidcSettings(self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url, self.oidc_role_claim,
                            self.oidc_scope_claim, self.oidc_agent_claim, self.oidc_leeway_s, self.oidc_jwks_cache_s,
                            self.oidc_jwks_refetch_s)

    @property
    def pooler(self) -> Pooler:
        if not self.transaction_pooler:
            return Pooler.NONE
        return Pooler.TRANSACTION_KEEPS_PREPARED if self.pooler_prepared_statements else Pooler.TRANSACTION

    @property
    def replicas(self) -> list[str]:
        return self.replica_urls.split()

    @property
    def allowed_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def dev_secrets_file(self) -> Path:
        """One place per user, whatever the data directory or working directory, so `perisai token`
        and `perisai serve` always agree: $XDG_CONFIG_HOME/perisai (default ~/.config/perisai)."""
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return base / "perisai" / "dev-secrets.json"

    @cached_property
    def dev_secrets(self) -> dict[str, str]:
        """Secrets generated once per user for development (see dev_secrets_file)."""
        path = self.dev_secrets_file
        if path.exists():
            return dict(json.loads(path.read_text()))
        earlier = self.data_dir.resolve().parent / "dev-secrets.json"  # where they were kept before
        values = json.loads(earlier.read_text()) if earlier.exists() else {
            "jwt_secret": secrets.token_urlsafe(32), "nik_key": secrets.token_urlsafe(32)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(values))
        return dict(values)

    def secret(self, name: Literal["jwt_secret", "nik_key"]) -> bytes:
        """The named secret; outside production a missing one is generated and remembered."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value().encode()
        if self.production:
            raise MissingSecret(name)
        return self.dev_secrets[name].encode()

    def secret_source(self, name: Literal["jwt_secret", "nik_key"]) -> str:
        """Where the named secret comes from, for messages (never the secret itself)."""
        return f"PERISAI_{name.upper()}" if getattr(self, name) is not None else f"the development secret in {self.dev_secrets_file}"


class MissingSecret(RuntimeError):
    def __init__(self, name: str) -> None:
        variable = f"PERISAI_{name.upper()}"
        super().__init__(
            f"{variable} is not set. In production (PERISAI_ENV=production) every secret must be "
            f"given explicitly: set {variable} to a long random string, e.g. "
            f"`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
        self.variable = variable
