"""Emulator settings: environment variables prefixed LIVEBUS_EMULATOR_."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from livebus.config import ServiceSettings


class EmulatorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEBUS_EMULATOR_", extra="ignore", env_file=None)

    host: str = "127.0.0.1"
    port: int = 9443  # 0 = pick a free port (tests)
    # TLS. Unset: a dev CA and a loopback certificate are created (once) in certs_dir.
    cert_file: str = ""
    key_file: str = ""
    certs_dir: str = ".livebus"
    # Accepted API keys, comma-separated. Empty: any non-empty key is accepted.
    api_keys: Annotated[list[str], NoDecode] = []
    # 1.0 streams reply audio in real time, 4.0 four times faster, 0 as fast as possible.
    pace: float = 1.0
    # Extra wait before the first byte of each reply (to test latency measurement).
    reply_delay_ms: int = 0
    # Size of each reply audio chunk.
    audio_chunk_ms: int = 40
    # One connection lives this long: goAway goaway_notice_s before the end, then close.
    connection_lifetime_s: float = 600.0
    goaway_notice_s: float = 60.0
    # Session limits when the setup has no contextWindowCompression (0 = no limit).
    audio_session_limit_s: float = 900.0
    av_session_limit_s: float = 120.0
    # Resumption handles stay valid this long.
    handle_ttl_s: float = 7200.0
    # Speak replies with espeak-ng when it is on PATH; otherwise (or when off) a tone.
    speech_synthesis: bool = True
    # Closed connections kept for GET /control/sessions.
    keep_sessions: int = 1000

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    def tls_files(self) -> tuple[Path, Path]:
        """(certificate chain, key): the configured files, or dev certificates."""
        if self.cert_file and self.key_file:
            return Path(self.cert_file), Path(self.key_file)
        try:  # the dev harness: in the venv of `make`, never in an image
            from livebus_dev.devca import ensure_dev_certs
        except ImportError:
            raise ValueError("set LIVEBUS_EMULATOR_CERT_FILE and LIVEBUS_EMULATOR_KEY_FILE "
                             "(dev certificates need livebus-dev)") from None

        certs = ensure_dev_certs(Path(self.certs_dir))
        return certs.cert, certs.key

    def ca_file(self) -> Path | None:
        """The dev CA clients should trust (None when real certificates are configured)."""
        if self.cert_file and self.key_file:
            return None
        return Path(self.certs_dir) / "ca.pem"
