"""Structured (JSON lines) logging with the session id from context, and secret redaction."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

session_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "livebus_session_id", default=None
)

_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never print this value: any log line containing it gets it replaced."""
    if value and len(value) >= 8:
        _secrets.add(value)


# Credentials by their shape, for those that are no registered secret (a client's wrong key, a
# token or handle minted at run time): query parameters, headers, tokens, handles, any JWT.
_PATTERNS = [
    (re.compile(r"(?i)([?&](?:key|access_token)=)[^&\s\"'\\]+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)((?:x-goog-api-key|authorization)[\"']?\s*[:=]\s*[\"']?(?:(?:token|bearer)\s+)?)"
                r"[^\s\"',}\\]+"), r"\1[REDACTED]"),
    (re.compile(r"auth_tokens/[A-Za-z0-9._~+/=-]+"), "auth_tokens/[REDACTED]"),
    (re.compile(r"livebus-h1\.[A-Za-z0-9._~+/=-]+"), "livebus-h1.[REDACTED]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "[REDACTED]"),
]


def redact(text: str) -> str:
    for s in _secrets:
        if s in text:
            text = text.replace(s, "[REDACTED]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        sid = getattr(record, "session_id", None) or session_id_var.get()
        if sid:
            entry["session_id"] = sid
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def setup(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Their DEBUG output includes request headers, where keys travel: never below INFO.
    for chatty in ("websockets", "uvicorn", "uvicorn.error", "httpx", "httpcore", "google_genai"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, root.level))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
