"""The settings object refuses unsafe production configuration."""

from __future__ import annotations

import pytest

from core.settings import DEFAULT_SECRET_KEY, Settings, UnsafeSettingsError


def test_production_refuses_default_secret_key() -> None:
    with pytest.raises(UnsafeSettingsError, match="MARKET_SECRET_KEY"):
        Settings(env="production", secret_key=DEFAULT_SECRET_KEY)


def test_production_refuses_short_secret_key() -> None:
    with pytest.raises(UnsafeSettingsError):
        Settings(env="production", secret_key="short")


def test_production_refuses_meilisearch_without_key() -> None:
    with pytest.raises(UnsafeSettingsError, match="MARKET_MEILI_KEY"):
        Settings(env="production", secret_key="x" * 40, meili_url="http://meili:7700")


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(env="production", secret_key="x" * 40)
    assert settings.env == "production"


def test_settings_read_market_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKET_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("MARKET_MAX_UPLOAD_MB", "3")
    settings = Settings()
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.max_upload_mb == 3
    assert not settings.is_sqlite


def test_dev_defaults_to_a_local_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MARKET_DATABASE_URL", "MARKET_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///./var/market.db"
    assert settings.env == "dev"
    assert settings.is_sqlite
