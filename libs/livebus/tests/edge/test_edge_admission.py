"""admission.py: exact counts per gateway and per credential (pure)."""

from __future__ import annotations

import pytest

from livebus import closecodes
from livebus.edge.admission import AT_CAPACITY, TOO_MANY, Admission
from livebus.edge.wire import ProtocolError


def test_per_user_limit_refuses_that_user_only() -> None:
    a = Admission(max_sessions=10, max_per_user=2)
    a.acquire("u")
    a.acquire("u")
    with pytest.raises(ProtocolError) as e:
        a.acquire("u")
    assert (e.value.code, e.value.reason) == (closecodes.TRY_AGAIN, TOO_MANY)
    a.acquire("v")
    assert a.total == 3 and not a.full()


def test_gateway_limit_and_readiness() -> None:
    a = Admission(max_sessions=2, max_per_user=5)
    a.acquire("u")
    a.acquire("v")
    assert a.full()
    with pytest.raises(ProtocolError) as e:
        a.acquire("w")
    assert (e.value.code, e.value.reason) == (closecodes.TRY_AGAIN, AT_CAPACITY)
    a.release("u")
    assert not a.full() and a.per_user == {"v": 1}


def test_slots_come_back_when_a_session_fails() -> None:
    a = Admission(max_sessions=5, max_per_user=5)
    for _ in range(20):
        with pytest.raises(RuntimeError), a.slot("u"):
            raise RuntimeError("session failed")
    assert a.total == 0 and not a.per_user
