from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from livebus.config import CsvList, ServiceSettings


class ToolsSettings(ServiceSettings):
    """Environment variables `LIVEBUS_TOOLS_*` (docs/adding-a-tool.md)."""

    model_config = SettingsConfigDict(env_prefix="LIVEBUS_TOOLS_", extra="ignore")

    health_port: int = 9300
    builtins: bool = True               # get_current_time, inventory_lookup, remember, recall
    modules: CsvList = []               # your own tool modules: "pkg.mod,other.mod"
    inventory_dsn: str = ""             # "" = in-memory SQLite seeded from inventory_csv
    inventory_csv: Path | None = None   # None = the demo parts list shipped with the service
    dedupe_window_s: float = 300.0      # a repeated call id within this window gets the same reply
    max_concurrent: int = 256           # calls running at once per replica; more wait their turn
    drain_timeout_s: float = 30.0       # on SIGTERM: how long running calls may finish
    max_notes: int = 100                # per user, oldest dropped first

    # Hostile input (docs/security.md): a call request larger or deeper than this is refused
    # (bad_request / invalid_args) before any validation; repeated log lines are throttled.
    max_request_bytes: int = 256 * 1024
    max_args_depth: int = 32
    log_throttle_s: float = 60.0        # one line per kind of refusal or failure per interval
