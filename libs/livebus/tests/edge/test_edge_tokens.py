"""tokens.py and auth.py: strict claims, identities, credentials (pure)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from livebus.edge import auth, tokens
from livebus.edge.tokens import TokenError

SECRET = "t" * 32
KEYS = ["server-key-one-0123456789", "server-key-two-0123456789"]


def minted(body: dict[str, Any]) -> tokens.Grant:
    return tokens.verify(SECRET, tokens.mint(SECRET, body)["name"])


@pytest.mark.parametrize("uses", [float("inf"), float("nan"), 1e300, 10**30, "3", True, False,
                                  -1, 0, 1.5, [], {}])
def test_bad_uses_are_a_token_error(uses: object) -> None:
    with pytest.raises(TokenError):
        tokens.mint(SECRET, {"uses": uses})


def test_uses_defaults_to_one_and_takes_integers() -> None:
    assert minted({}).uses == 1 and minted({"uses": 3}).uses == 3
    assert minted({"uses": 2.0}).uses == 2


def test_tools_claim_none_and_empty_survive() -> None:
    assert minted({}).tools is None
    assert minted({"livebus": {"tools": []}}).tools == []
    assert minted({"livebus": {"tools": ["recall"]}}).tools == ["recall"]
    assert minted({"livebus": {"models": []}}).models == []


@pytest.mark.parametrize("lb", [{"tools": "recall"}, {"tools": [1]}, {"models": {"a": 1}},
                                {"user": 5}, {"user": "x" * 500}, [], "x"])
def test_malformed_livebus_claims_are_refused(lb: object) -> None:
    with pytest.raises(TokenError):
        tokens.mint(SECRET, {"livebus": lb})


@pytest.mark.parametrize("body", [
    {"expireTime": 5}, {"expireTime": "yesterday"}, {"expireTime": "1999-01-01T00:00:00Z"},
    {"bidiGenerateContentSetup": {"setup": {"httpOptions": {"baseUrl": "https://x"}}}},
    {"bidiGenerateContentSetup": "x"}, {"bidiGenerateContentSetup": {"setup": {}}, "fieldMask": 3},
])
def test_malformed_requests_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(TokenError):
        tokens.mint(SECRET, body)


def test_server_keys_are_distinct_identities_that_name_no_key() -> None:
    a = auth.authenticate(KEYS[0], KEYS, SECRET)
    b = auth.authenticate(KEYS[1], KEYS, SECRET)
    assert a.server_key and b.server_key and a.user != b.user
    assert a.user.startswith("key:") and KEYS[0] not in a.user


def test_credentials_from_every_place_a_client_puts_them() -> None:
    assert auth.credential({"authorization": "Token abc"}, {}) == "abc"
    assert auth.credential({"authorization": "Bearer abc"}, {}) == "abc"
    assert auth.credential({"x-goog-api-key": "k"}, {}) == "k"
    assert auth.credential({}, {"access_token": "t"}) == "t"
    assert auth.credential({}, {"key": "k"}) == "k"
    with pytest.raises(TokenError) as e:
        auth.authenticate("wrong-key", KEYS, SECRET)
    assert "wrong-key" not in str(e.value)


def test_turn_detection_claim_is_carried_and_checked() -> None:
    assert minted({"livebus": {"turnDetection": "local"}}).turn_detection == "local"
    assert minted({}).turn_detection == ""
    with pytest.raises(TokenError):
        tokens.mint(SECRET, {"livebus": {"turnDetection": "always"}})


def test_room_claim_is_carried_and_must_be_a_safe_key() -> None:
    assert minted({"livebus": {"room": "standup_7-b"}}).room == "standup_7-b"
    assert minted({}).room == "" and minted({"livebus": {"room": ""}}).room == ""
    for bad in ("a.b", "*", ">", "x" * 65, "a b", 7, ["r"], {"r": 1}):
        with pytest.raises(TokenError) as e:
            tokens.mint(SECRET, {"livebus": {"room": bad}})
        assert "livebus.room" in str(e.value)


def test_a_signed_token_with_an_unsafe_room_is_refused() -> None:
    """Signed with the secret but not by mint (an older or foreign minter): still no bad key."""
    raw = jwt.encode({"iss": "livebus", "jti": "a" * 32, "exp": 4102444800, "room": "a.>"},
                     SECRET, algorithm="HS256")
    with pytest.raises(TokenError):
        tokens.verify(SECRET, tokens.PREFIX + raw)
