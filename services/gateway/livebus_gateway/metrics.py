"""Gateway metrics (docs/metrics.md): the edge's (livebus.edge.metrics, `livebus_gateway_*`),
made at import so every series is there before the first session, and the token route's."""

from __future__ import annotations

from prometheus_client import Counter

from livebus.edge import metrics

from .settings import GatewaySettings

EDGE = metrics.of(GatewaySettings.metrics_prefix)
TOKENS_MINTED = Counter("livebus_gateway_tokens_minted_total", "Ephemeral tokens issued")
