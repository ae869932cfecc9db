"""TLS for services: a client context trusting a CA file or the system store."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: str | Path | None) -> ssl.SSLContext:
    """A client context trusting `ca_file` (or the system store when None)."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
