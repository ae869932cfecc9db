"""resumption.py: handles name a session, are bound to their user, expire, cannot be forged."""

from __future__ import annotations

import time

import jwt

from livebus_gateway import resumption

SECRET = "r" * 32


def test_a_handle_resumes_its_users_session_only() -> None:
    h = resumption.mint(SECRET, "sid", "page:aa")
    assert h.startswith(resumption.PREFIX)
    assert resumption.verify(SECRET, h, "page:aa", 60) == "sid"
    assert resumption.verify(SECRET, h, "page:bb", 60) is None
    assert resumption.verify("x" * 32, h, "page:aa", 60) is None


def test_old_and_forged_handles_are_refused() -> None:
    old = resumption.PREFIX + jwt.encode(
        {"sid": "s", "user": "u", "iat": int(time.time()) - 100, "aud": resumption.AUDIENCE},
        SECRET, algorithm="HS256")
    assert resumption.claims(SECRET, old, 60) is None
    none_alg = resumption.PREFIX + jwt.encode({"sid": "s", "user": "u", "iat": 1,
                                               "aud": resumption.AUDIENCE}, None,
                                              algorithm="none")
    assert resumption.claims(SECRET, none_alg, 1e12) is None
    assert resumption.claims(SECRET, "auth_tokens/abc", 60) is None
