"""resumption.py: handles name a session, are bound to their user, expire, cannot be forged."""

from __future__ import annotations

import time

import jwt

from livebus.edge import resumption

SECRET = "r" * 32


def test_a_handle_resumes_its_users_session_only() -> None:
    h = resumption.mint(SECRET, "sid", "page:aa")
    assert h.startswith(resumption.PREFIX)
    held = resumption.verify(SECRET, h, "page:aa", 60)
    assert held is not None and held.sid == "sid"
    assert resumption.verify(SECRET, h, "page:bb", 60) is None
    assert resumption.verify("x" * 32, h, "page:aa", 60) is None


def test_old_and_forged_handles_are_refused() -> None:
    old = resumption.PREFIX + jwt.encode(
        {"sid": "s", "user": "u", "iat": int(time.time()) - 100, "aud": resumption.AUDIENCE},
        SECRET, algorithm="HS256")
    assert resumption.claims(SECRET, old, 60) is None
    none_alg = resumption.PREFIX + jwt.encode({"sid": "s", "user": "u", "iat": 1,
                                               "aud": resumption.AUDIENCE}, "",
                                              algorithm="none")
    assert resumption.claims(SECRET, none_alg, 1e12) is None
    assert resumption.claims(SECRET, "auth_tokens/abc", 60) is None


def test_a_handle_carries_the_sessions_start_and_its_tokens_expiry() -> None:
    """Resuming must not restart max_session_s nor outlive the opening token."""
    h = resumption.mint(SECRET, "sid", "u", started_at=1000.5, expires_at=5000.0)
    held = resumption.claims(SECRET, h, 60)
    assert held == resumption.Held("sid", "u", started_at=1000.5, expires_at=5000.0)
    fresh = resumption.claims(SECRET, resumption.mint(SECRET, "sid", "u"), 60)
    assert fresh is not None and abs(fresh.started_at - time.time()) < 5
    assert fresh.expires_at is None


def test_a_handle_without_a_start_counts_from_when_it_was_issued() -> None:
    iat = int(time.time()) - 30
    old = resumption.PREFIX + jwt.encode({"sid": "s", "user": "u", "iat": iat,
                                          "aud": resumption.AUDIENCE}, SECRET, algorithm="HS256")
    held = resumption.claims(SECRET, old, 60)
    assert held is not None and held.started_at == iat and held.expires_at is None


def test_each_connection_gets_a_handle_of_its_own_even_within_a_second() -> None:
    # iat has whole seconds: a drop and a resume in the same second once gave the same handle.
    first = resumption.mint(SECRET, "sid", "u", started_at=1000.5)
    again = resumption.mint(SECRET, "sid", "u", started_at=1000.5)
    assert first != again
    assert resumption.claims(SECRET, first, 60) == resumption.claims(SECRET, again, 60)
