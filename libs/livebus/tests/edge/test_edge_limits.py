"""limits.py with a fake clock: what is counted, per session and per credential."""

from __future__ import annotations

import pytest

from livebus import closecodes
from livebus.edge import limits
from livebus.edge.limits import (
    BYTES,
    CHUNKS,
    MESSAGES,
    PUBLISHES,
    Budget,
    CredentialBudgets,
    SessionLimits,
    TokenBucket,
)
from livebus.edge.settings import EdgeSettings
from livebus.edge.wire import ProtocolError


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def budget(rate: float, burst: float) -> Budget:
    kinds = (MESSAGES, CHUNKS, BYTES, PUBLISHES)
    return Budget({k: rate for k in kinds}, {k: burst for k in kinds})


def test_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    clock = Clock()
    b = TokenBucket(10, 5, clock)
    assert all(b.take() for _ in range(5)) and not b.take()
    clock.t = 0.3
    assert b.take(3) and not b.take()
    clock.t = 100
    assert b.take(5) and not b.take()
    assert not TokenBucket(10, 5, clock).take(6), "a charge above the burst never fits"


def test_one_message_with_many_chunks_counts_each_chunk() -> None:
    clock = Clock()
    creds = CredentialBudgets(budget(1e9, 1e9), clock)
    s = SessionLimits(budget(100, 400), creds, "u", clock)
    s.charge_frame(100)
    with pytest.raises(ProtocolError) as e:
        s.charge_actions(chunks=60_000, publishes=60_000)
    assert e.value.code == closecodes.RATE_LIMITED
    assert e.value.reason == "rate limit exceeded: media chunks"


def test_bytes_are_counted_before_parsing() -> None:
    clock = Clock()
    s = SessionLimits(budget(1000, 1000), CredentialBudgets(budget(1e9, 1e9), clock), "u", clock)
    with pytest.raises(ProtocolError, match="uplink bytes"):
        s.charge_frame(5000)


def test_a_credential_shares_one_budget_across_its_sessions() -> None:
    clock = Clock()
    creds = CredentialBudgets(budget(10, 10), clock)
    a = SessionLimits(budget(1e9, 1e9), creds, "alice", clock)
    b = SessionLimits(budget(1e9, 1e9), creds, "alice", clock)
    other = SessionLimits(budget(1e9, 1e9), creds, "bob", clock)
    a.charge_actions(6, 6)
    with pytest.raises(ProtocolError) as e:
        b.charge_actions(6, 6)
    assert e.value.reason == "rate limit exceeded: media chunks for this credential"
    other.charge_actions(10, 10)  # another user is unaffected
    for s in (a, b, other):
        s.release()
        s.release()  # idempotent
    assert creds.shared == {}


def test_settings_build_both_budgets() -> None:
    s = EdgeSettings(max_chunks_per_second=7, credential_burst_publishes=9)
    assert limits.session_budget(s).rates[CHUNKS] == 7
    assert limits.credential_budget(s).bursts[PUBLISHES] == 9
    assert s.burst_uplink_bytes >= s.max_message_bytes, "one maximal message always fits"
