"""Prometheus metrics of the emulator (served on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTIONS = Counter("livebus_emulator_connections_total", "Live connections accepted",
                      ["method"])
OPEN_CONNECTIONS = Gauge("livebus_emulator_open_connections", "Live connections open now")
TURNS = Counter("livebus_emulator_turns_total", "User turns answered", ["kind"])
INTERRUPTIONS = Counter("livebus_emulator_interruptions_total", "Replies cut by barge-in")
CLOSES = Counter("livebus_emulator_closes_total", "Connections closed by the emulator", ["code"])
