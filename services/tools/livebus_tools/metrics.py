"""Tools metrics (docs/metrics.md). Labelled by tool name (only registered names, or "unknown")."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter("livebus_tools_calls_total",
                "Calls answered, by tool and result (ok or an error code)", ["tool", "result"])
LATENCY = Histogram("livebus_tools_call_seconds", "From request received to reply sent, by tool",
                    ["tool"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                       1, 2.5, 5, 10, 30))
ERRORS = Counter("livebus_tools_errors_total", "Calls answered with an error, by tool and code",
                 ["tool", "code"])
TIMEOUTS = Counter("livebus_tools_timeouts_total", "Handlers cancelled at their deadline",
                   ["tool"])
CANCELS = Counter("livebus_tools_cancels_total", "Running calls cancelled by the bridge", ["tool"])
DUPLICATES = Counter("livebus_tools_duplicates_total",
                     "Repeated call ids answered from the first call", ["tool"])
IN_FLIGHT = Gauge("livebus_tools_in_flight", "Calls running on this replica")
