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
    preview_rate_per_minute: float = Field(
        default=600.0,
        ge=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="previews per API token and minute (0: no limit)",
    )
    render_workers: int = Field(
        default=2, ge=1, le=64, description="template worker processes of each API or resolver"
    )
    render_memory_mb: int = Field(
        default=256,
        ge=16,
        le=65536,
        description="memory a template worker may take beyond its start-up size (RLIMIT_AS)",
    )
    render_timeout_seconds: float = Field(
        default=0.5,
        gt=0,
        le=600,
        description="worker time for everything one API request renders (a preview of 100"
        " recipients, a check); a worker still busy then is killed and replaced",
    )
    render_queue_seconds: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="how long a request waits for a free template worker (then a 503)",
    )
    resolver_render_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="time for rendering one resolver batch"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
