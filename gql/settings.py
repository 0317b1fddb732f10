"""Settings from the environment: ``LEARNTRACK_*`` plus ``DATABASE_URL``."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.attempts import AttemptPolicy
from domain.streaks import StreakPolicy

# Only for development: production refuses to start without a configured key.
DEVELOPMENT_JWT_SECRET = "learntrack-development-only-secret-" + "0123456789abcdef" * 2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNTRACK_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LEARNTRACK_DATABASE_URL")
    )
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    db_pool_size: int = 10
    statement_timeout_ms: int = 5000

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None

    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_body_bytes: int = 1_000_000
    attempt_max_age_days: int = 30
    attempt_clock_skew_seconds: int = 300
    attempt_max_payload_bytes: int = 16 * 1024
    # Streaks (README "Streaks"): solves received more than the grace period after they
    # occurred count as activity only; local days start at the day-start hour; learners hold
    # up to max freezes, earning one each time their run reaches a multiple of freeze-every
    # days (0: freezes only by grant).
    streak_grace_hours: int = Field(default=72, ge=0)
    streak_day_start_hour: int = Field(default=0, ge=0, le=23)
    streak_max_freezes: int = Field(default=2, ge=0)
    streak_freeze_every_days: int = Field(default=7, ge=0)
    introspection: bool | None = None
    suggestions: bool | None = None
    graphiql: bool | None = None
    graphiql_default_headers: dict[str, str] = {}
    max_directives: int = 20
    max_cost: int = 25_000
    cost_list_size: int = 10
    max_query_length: int = 50_000
    max_variables_bytes: int = 250_000
    max_json_depth: int = 32
    cors_origins: Annotated[list[str], NoDecode] = []
    metrics: bool = True
    # Automatic persisted queries: a per-process cache bounded by entries and characters;
    # either at 0 turns APQ off (clients are told PERSISTED_QUERY_NOT_SUPPORTED).
    apq_cache_entries: int = Field(default=1000, ge=0)
    apq_cache_chars: int = Field(default=5_000_000, ge=0)
    # ETag / If-None-Match on GET queries; an answer that read the clock is revalidated
    # within this many seconds (0: such answers get no ETag).
    etags: bool = True
    etag_clock_seconds: int = Field(default=10, ge=0)
    # OpenTelemetry spans per request, operation and SQL statement (gql/tracing.py); the
    # exporter comes from the standard OTEL_* variables.
    tracing: bool = False
    # The execution fast paths (gql/fast_execution.py); off runs graphql-core's standard
    # executor, which answers the same bytes (tests/test_executor_equivalence.py), slower.
    fast_execution: bool = True
    # Built course trees kept per process, one content version each (0: none kept).
    tree_cache_courses: int = Field(default=32, ge=0)
    # Trusted documents: a manifest from `learntrack documents build`; when set, only the
    # operations it lists run, and anything else is refused before it is parsed.
    trusted_documents: Path | None = None
    # Per-learner (or per client address) budget of query cost, a leaky bucket: up to
    # rate_limit_burst points at once, refilled at rate_limit_per_second. On in production
    # unless turned off; off in development unless turned on.
    rate_limits: bool | None = None
    rate_limit_burst: int = Field(default=50_000, gt=0)
    rate_limit_per_second: float = Field(default=2_500, gt=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # A comma-separated list reads better in an environment variable than JSON.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard_origin(cls, origins: list[str]) -> list[str]:
        # With credentials allowed, "*" would let any site call the API as the user.
        if "*" in origins:
            raise ValueError("LEARNTRACK_CORS_ORIGINS must name origins; '*' is refused")
        return origins

    @model_validator(mode="after")
    def _every_valid_query_fits_the_bucket(self) -> "Settings":
        if self.rate_limit_burst < self.max_cost:
            raise ValueError("LEARNTRACK_RATE_LIMIT_BURST must be at least LEARNTRACK_MAX_COST")
        return self

    @model_validator(mode="after")
    def _production_needs_keys(self) -> "Settings":
        if self.env == "production" and not (self.jwt_secret or self.jwt_public_key):
            raise ValueError("LEARNTRACK_JWT_SECRET or LEARNTRACK_JWT_PUBLIC_KEY must be set")
        return self

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def introspection_enabled(self) -> bool:
        return self.is_development if self.introspection is None else self.introspection

    @property
    def suggestions_enabled(self) -> bool:
        return self.is_development if self.suggestions is None else self.suggestions

    @property
    def rate_limits_enabled(self) -> bool:
        return not self.is_development if self.rate_limits is None else self.rate_limits

    @property
    def graphiql_enabled(self) -> bool:
        return self.is_development if self.graphiql is None else self.graphiql

    @property
    def streak_policy(self) -> StreakPolicy:
        return StreakPolicy(
            grace=timedelta(hours=self.streak_grace_hours),
            day_start_hour=self.streak_day_start_hour,
            max_freezes=self.streak_max_freezes,
            freeze_every=self.streak_freeze_every_days,
        )

    @property
    def attempt_policy(self) -> AttemptPolicy:
        return AttemptPolicy(
            clock_skew=timedelta(seconds=self.attempt_clock_skew_seconds),
            max_age=timedelta(days=self.attempt_max_age_days),
            max_payload_bytes=self.attempt_max_payload_bytes,
            streak=self.streak_policy,
        )

    @property
    def jwt_verify_key(self) -> str:
        if self.jwt_algorithm == "RS256":
            if not self.jwt_public_key:
                raise ValueError("LEARNTRACK_JWT_PUBLIC_KEY is required for RS256")
            return self.jwt_public_key
        return self.jwt_secret or DEVELOPMENT_JWT_SECRET

    @property
    def jwt_signing_key(self) -> str:
        if self.jwt_algorithm == "RS256":
            if not self.jwt_private_key:
                raise ValueError("LEARNTRACK_JWT_PRIVATE_KEY is required to mint RS256 tokens")
            return self.jwt_private_key
        return self.jwt_secret or DEVELOPMENT_JWT_SECRET
