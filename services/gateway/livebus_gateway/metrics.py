"""Gateway metrics (docs/metrics.md): the edge's (livebus.edge.metrics, `livebus_gateway_*`),
made at import so every series is there before the first session, and the token route's."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from livebus.edge import metrics

from .settings import GatewaySettings

EDGE = metrics.of(GatewaySettings.metrics_prefix)
TOP_USER_TOKENS = Gauge("livebus_gateway_usage_top_user_tokens",
                        "Tokens today (UTC) of the LIVEBUS_GATEWAY_USAGE_TOP_USERS users who used "
                        "most, from the usage records in KV (at most that many series)", ["user"])
TOKENS_MINTED = Counter("livebus_gateway_tokens_minted_total", "Ephemeral tokens issued")
