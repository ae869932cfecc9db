"""What an edge service's connections share: settings, admission, the bus, the token secret,
metrics; and whether the replica is ready for new sessions (/readyz)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, Self, TypeVar

from . import metrics
from .admission import Admission
from .buses import EdgeBus
from .metrics import EdgeMetrics
from .settings import EdgeSettings

BRIDGE_GONE_S = 5.0  # no bridge heartbeat for this long: no session can open here

S = TypeVar("S", bound=EdgeSettings)


@dataclass
class EdgeState(Generic[S]):
    """Made once per service (`of`); `start` and `stop` in its lifespan."""

    settings: S
    admission: Admission
    metrics: EdgeMetrics
    bus: EdgeBus | None = None
    secret: str = ""

    @classmethod
    def of(cls, settings: S) -> Self:
        return cls(settings, Admission(settings.max_sessions, settings.max_sessions_per_user),
                   metrics.of(settings.metrics_prefix))

    async def start(self, service: str) -> None:
        """Connects to NATS (connections named `<service>-<instance>-*`), reads the secret."""
        s = self.settings
        self.bus = await EdgeBus.connect(s.nats_url, s.instance_id, s.js_replicas, service)
        self.secret = s.signing_secret()

    async def stop(self) -> None:
        if self.bus is not None:
            await self.bus.close()

    def ready(self) -> tuple[bool, str]:
        if self.bus is None or not self.bus.connected():
            return False, "not connected to NATS"
        if self.admission.full():
            return False, "at max_sessions"
        heard = max(self.bus.bridges_seen.values(), default=None)
        if heard is None or time.monotonic() - heard > BRIDGE_GONE_S:
            return False, "no bridge alive"
        return True, "ok"
