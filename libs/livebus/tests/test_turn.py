"""turn.py: coturn's use-auth-secret credentials, checked the way the TURN server checks them."""

from __future__ import annotations

import base64
import hashlib
import hmac

from livebus import turn


def test_the_password_is_the_hmac_of_the_username_and_the_username_carries_the_expiry() -> None:
    username, password = turn.credential("s3cret", "auth_tokens/abc", 600, now=1_000_000.5)
    expiry, _, label = username.partition(":")
    assert int(expiry) == 1_000_600
    assert label == hashlib.sha256(b"auth_tokens/abc").hexdigest()[:16]  # not the user's name
    expected = hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(password) == expected
    assert turn.credential("other", "auth_tokens/abc", 600, now=1_000_000.5)[1] != password


def test_stun_urls_pass_as_they_are_and_turn_urls_need_a_secret() -> None:
    urls = ["stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp",
            "turns:turn.example.com:443?transport=tcp"]
    assert turn.ice_servers(urls, "", "x", 60) == [{"urls": ["stun:stun.example.com:3478"]}]
    stun, relay = turn.ice_servers(urls, "k", "x", 60, now=0)
    assert stun == {"urls": urls[:1]}
    assert relay["urls"] == urls[1:]
    assert relay["username"].startswith("60:") and relay["credential"]
    assert turn.ice_servers([], "k", "x", 60) == []


def test_only_ice_uris_without_header_breaking_characters_are_valid() -> None:
    assert turn.valid_url("turns:turn.example.com:443?transport=tcp")
    for bad in ("http://turn.example.com", "turn:a b", 'turn:"x"', "turn:<x>", "turn:" + "a" * 600):
        assert not turn.valid_url(bad)
