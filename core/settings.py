"""One typed settings object, read from ``MARKET_*`` environment variables."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Kept public so the refusal below can recognise it; it only ever protects a laptop demo.
DEFAULT_SECRET_KEY = "dev-only-secret-key-change-me"


class UnsafeSettingsError(RuntimeError):
    """Raised when production is configured with a development default."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MARKET_", env_file=None, extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    database_url: str = "sqlite:///./var/market.db"
    secret_key: str = DEFAULT_SECRET_KEY
    meili_url: str | None = None
    meili_key: str | None = None

    api_token_ttl_hours: int = Field(default=24 * 30, ge=1)
    session_ttl_hours: int = Field(default=12, ge=1)
    invitation_ttl_hours: int = Field(default=24 * 7, ge=1)

    # Login throttling: failures counted in a sliding window per account and per address.
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)

    upload_dir: str = "./var/uploads"
    max_upload_mb: int = Field(default=10, ge=1)

    # smtp://user:password@host:587?starttls=1&from=noreply@example.com (or smtps://host:465);
    # unset, notification e-mails are written to the log instead of being sent.
    smtp_url: str | None = None

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                raise UnsafeSettingsError(
                    "MARKET_SECRET_KEY must be set to a random value of at least 32 characters "
                    "when MARKET_ENV=production"
                )
            if self.meili_url and not self.meili_key:
                raise UnsafeSettingsError(
                    "MARKET_MEILI_KEY must be set when MARKET_MEILI_URL is used in production"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@cache
def get_settings() -> Settings:
    return Settings()
