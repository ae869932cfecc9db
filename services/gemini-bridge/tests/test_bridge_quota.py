"""quota.py: refusal at open, one warning per limit near it, the end at it; others' usage
(other sessions, other bridges) counts, this opening's own record does not count twice."""

from __future__ import annotations

from typing import Any

from livebus import closecodes
from livebus.v1 import bus_pb2
from livebus_bridge.metering import SessionMeter
from livebus_bridge.quota import Limits, Quota, quota_limits
from livebus_bridge.settings import BridgeSettings

NOW = 1764675000.0  # 2025-12-02 11:30 UTC
DAY = "2025-12-02"


class Store:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.list = records

    async def records(self, day: str, user: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.list if r["day"] == day and r["user"] == user]


def rec(session: str, tokens: int, seconds: float = 0.0, epoch: int = 1, open_: bool = False,
        user: str = "ada") -> dict[str, Any]:
    return {"user": user, "session": session, "epoch": epoch, "day": DAY, "seconds": seconds,
            "tokens": {"prompt": {"audio": tokens}}, "open": open_, "updated": NOW}


def quota(limits: Limits, records: list[dict[str, Any]]) -> tuple[Quota, list[Any], SessionMeter]:
    out: list[Any] = []
    meter = SessionMeter(None, "ada", "mine", 5, "models/m", 1.0, lambda: NOW)

    async def send(msg: dict[str, Any]) -> None:
        out.append(msg)

    async def end(close: bus_pb2.Close) -> None:
        out.append(close)

    return Quota(limits, Store(records), meter, send, end, lambda: NOW), out, meter  # type: ignore[arg-type]


async def test_off_by_default_admits_and_never_checks() -> None:
    assert not quota_limits(BridgeSettings()).enabled
    q, out, _ = quota(Limits(), [rec("x", 10**9)])
    assert await q.admit() is None
    await q.check()
    assert out == []


async def test_a_new_session_over_a_limit_is_refused() -> None:
    q, _, _ = quota(Limits(tokens_per_day=100), [rec("a", 60), rec("b", 40, user="bob"),
                                                 rec("a", 40, epoch=2)])
    refusal = await q.admit()
    assert refusal is not None
    assert (refusal.code, refusal.reason) == (closecodes.QUOTA_EXCEEDED,
                                              "quota exceeded: tokens per day")
    q, _, _ = quota(Limits(minutes_per_day=1.0), [rec("a", 0, seconds=59.0)])
    assert await q.admit() is None
    q, _, _ = quota(Limits(concurrent_sessions=2), [rec("a", 0, open_=True),
                                                    rec("b", 0, open_=True)])
    refusal = await q.admit()
    assert refusal is not None and refusal.reason == "quota exceeded: concurrent sessions"
    q, _, _ = quota(Limits(concurrent_sessions=2), [rec("a", 0, open_=True), rec("b", 0)])
    assert await q.admit() is None  # b has ended


async def test_warns_once_near_the_limit_then_ends_at_it() -> None:
    records = [rec("other", 50), rec("mine", 999, epoch=5)]  # our own record is not others'
    q, out, meter = quota(Limits(tokens_per_day=100, warn_ratio=0.8), records)
    meter.tokens = {"response": {"audio": 35}}
    await q.check()
    await q.check()
    (warning,) = out
    assert warning["serverContent"] == {}
    assert warning["livebusQuota"] == {"warning": "tokens per day nearly used",
                                       "limit": "tokens per day", "used": 85, "allowed": 100,
                                       "day": DAY}
    meter.tokens = {"response": {"audio": 50}}
    await q.check()
    assert isinstance(out[-1], bus_pb2.Close) and out[-1].reason == "quota exceeded: tokens per day"
    await q.check()
    assert len(out) == 2  # ended once
