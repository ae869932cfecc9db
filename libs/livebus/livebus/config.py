"""Settings shared by every service. Each service subclasses with its own env prefix."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from the environment; `LIVEBUS_<SERVICE>_<FIELD>` (see docs/configuration.md)."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    # One URL, or every node of a cluster comma-separated (any is dialled; reconnects go to any).
    nats_url: str = "nats://127.0.0.1:4222"
    # /metrics, /livez, /readyz. Services without their own HTTP server serve these here.
    health_host: str = "127.0.0.1"
    health_port: int = 0
    log_level: str = "INFO"
    # Unique per process: names its NATS connections, owns session leases (pod name in k8s).
    # JetStream replicas for the streams and buckets this service creates (3 on a 3-node cluster).
    js_replicas: int = 1
    instance_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")


def _split_csv(v: object) -> object:
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    return v


def secret_value(value: str, path: Path | None) -> str:
    """A secret given as a setting's value or, failing that, as the contents of a file (a
    mounted Secret); "" when neither is there."""
    if value:
        return value
    if path and path.exists():
        return path.read_text().strip()
    return ""


# A list read from one comma-separated environment variable.
CsvList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]
