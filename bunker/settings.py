"""Every setting of the system, read from the environment (or a `.env` file).

Unset `TEMPORAL_ADDRESS` / `DATABASE_URL` mean "embedded": `bunker dev` starts the Temporal dev server
and an embedded PostgreSQL under `BUNKER_DATA_DIR`. Set them and the same code talks to real servers.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # Secrets may also come as files (Docker/Kubernetes secrets): /run/secrets/DATABASE_URL and the like.
    model_config = SettingsConfigDict(
        env_file=".env", env_prefix="BUNKER_", extra="ignore",
        secrets_dir="/run/secrets" if Path("/run/secrets").is_dir() else None,
    )

    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "BUNKER_TEMPORAL_ADDRESS"),
        description="host:port of a Temporal frontend; unset = start the embedded dev server",
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "BUNKER_TEMPORAL_NAMESPACE")
    )
    temporal_task_queue: str = "bunker"
    temporal_ui_url: str | None = Field(
        default=None, description="Base URL of the Temporal Web UI, for links (defaults to the embedded one)"
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "BUNKER_DATABASE_URL"),
        description="postgresql://… ; unset = embedded PostgreSQL under the data dir",
    )
    data_dir: Path = Field(default=Path(".data"), description="where embedded servers keep their state")
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    db_pool_max: int = Field(default=10, ge=1, le=200)
    sdk_metrics_port: int = Field(
        default=9464, ge=0, le=65535,
        description="the Temporal SDK's Prometheus exporter of the worker's process, on 127.0.0.1; 0 = off",
    )
    worker_health_host: str = Field(
        default="127.0.0.1", description="where the worker's health endpoint listens (0.0.0.0 in a container)"
    )
    worker_health_port: int = Field(
        default=0, ge=0, le=65535,
        description="the worker's /livez, /readyz and /metrics (workers/health.py); 0 = no endpoint",
    )

    @field_validator("temporal_address", "database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if v == "" else v

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def ui_url(self) -> str:
        return self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def gateway_url(self) -> str:
        """Where the CLI reaches the gateway (`bunker agency …`)."""
        return f"http://{self.gateway_host}:{self.gateway_port}"

    def workflow_url(self, workflow_id: str) -> str:
        return f"{self.ui_url}/namespaces/{self.temporal_namespace}/workflows/{quote(workflow_id, safe='')}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
