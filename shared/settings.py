"""Configuration of every Herald process, read from the environment (``HERALD_*``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The process environment; names and defaults are part of the external contract."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/herald"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    api_token: SecretStr | None = None
    insecure_dev: bool = False
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, sealing gateway and SMTP secrets at rest "
        "(the first seals, all open); see shared/encryption.py",
    )
    outbound_allow: str = Field(
        default="",
        description="hosts, addresses or CIDR ranges outbound connections may reach although "
        "they are not public (comma-separated); see shared/outbound.py",
    )

    # Extensions of the contract (all optional).
    log_level: str = "INFO"
    default_region: str | None = Field(
        default=None,
        description="ISO country used to read phone numbers written without +country code",
    )
    timezone: str = "UTC"
    sender_prefetch: int = Field(default=200, ge=1, le=5000)
    logger_batch_size: int = Field(default=500, ge=1, le=10000)
    logger_batch_wait_ms: int = Field(default=50, ge=1, le=5000)
    resolver_batch_size: int = Field(default=1000, ge=1, le=10000)
    campaign_rate_per_minute: float = Field(
        default=60.0,
        ge=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="campaigns and test sends per API token and minute (0: no limit)",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
