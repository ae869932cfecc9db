"""handshake.py: setup parsing and validation, models, locked setups, resumption (pure)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from livebus import closecodes
from livebus.edge import handshake, resumption
from livebus.edge.tokens import Grant
from livebus.edge.wire import ProtocolError

MODEL = "models/gemini-live-2.5-flash-preview"
ALLOWED = [MODEL, "models/gemini-2.0-flash-live-001"]
SECRET = "s" * 32
USER = Grant(user="alice")


def open_(setup: Any, grant: Grant = USER, raw: str | None = None) -> handshake.Opening:
    frame = raw if raw is not None else json.dumps({"setup": setup})
    return handshake.opening(frame, grant, allowed_models=ALLOWED, max_bytes=1 << 20,
                             secret=SECRET, resume_grace_s=60)


def refused(setup: Any, raw: str | None = None, grant: Grant = USER) -> ProtocolError:
    with pytest.raises(ProtocolError) as e:
        open_(setup, grant, raw)
    return e.value


def test_a_normal_setup_opens_with_a_normalized_model() -> None:
    o = open_({"model": "gemini-live-2.5-flash-preview",
               "generationConfig": {"responseModalities": ["AUDIO"], "temperature": 0.2},
               "output_audio_transcription": {}})
    assert o.setup["model"] == MODEL and o.resume is None
    assert o.setup["generationConfig"]["temperature"] == 0.2


@pytest.mark.parametrize(("setup", "field"), [
    ({"model": MODEL, "httpOptions": {"baseUrl": "https://10.0.0.1:9"}}, "httpOptions"),
    ({"model": MODEL, "generationConfig": {"bogus": 1}}, "bogus"),
    ({"model": MODEL, "somethingElse": True}, "somethingElse"),
])
def test_unknown_fields_close_1007_naming_the_field(setup: dict[str, Any], field: str) -> None:
    e = refused(setup)
    assert e.code == closecodes.INVALID_ARGUMENT and field in e.reason
    assert "10.0.0.1" not in e.reason


@pytest.mark.parametrize("value", [1, {"a": 1}, ["AUDIO"], "LOUD", True])
def test_enums_are_names_only(value: object) -> None:
    e = refused({"model": MODEL, "realtimeInputConfig": {"activityHandling": value}})
    assert e.code == closecodes.INVALID_ARGUMENT and "activityHandling" in e.reason


P = '{"setup": {"model": "' + MODEL + '", '


@pytest.mark.parametrize("raw", [
    P + '"generationConfig": {"temperature": NaN}}}',
    P + '"generationConfig": {"temperature": Infinity}}}',
    P + '"generationConfig": {"seed": 1e400}}}',
    P + '"labels": {"a": ' + "9" * 5000 + "}}}",
    '{"setup": ' + "[" * 100000 + "]" * 100000 + "}",
    P + '"tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": '
    + '{"a":' * 40 + "1" + "}" * 40 + "}]}]}}",
    "not json", "[]", '{"setup": 3}', '{"setup": {}}', '{"setup": {"model": ""}}',
    '{"setup": {"model": "' + MODEL + '"}, "extra": 1}',
])
def test_hostile_frames_close_1007(raw: str) -> None:
    assert refused(None, raw=raw).code == closecodes.INVALID_ARGUMENT


def test_a_setup_too_large_closes_1009() -> None:
    with pytest.raises(ProtocolError) as e:
        handshake.opening(json.dumps({"setup": {"model": MODEL}}), USER, allowed_models=ALLOWED,
                          max_bytes=10, secret=SECRET, resume_grace_s=60)
    assert e.value.code == closecodes.TOO_BIG


def test_models_outside_the_gateway_or_the_grant_are_refused() -> None:
    assert refused({"model": "models/other"}).code == closecodes.INVALID_ARGUMENT
    narrow = Grant(user="a", models=["models/gemini-2.0-flash-live-001"])
    assert refused({"model": MODEL}, grant=narrow).code == closecodes.INVALID_ARGUMENT
    assert refused({"model": MODEL}, grant=Grant(user="a", models=[])).code == 1007
    assert open_({"model": "gemini-2.0-flash-live-001"}, grant=narrow).setup["model"]


def test_the_locked_setup_wins_and_is_checked_too() -> None:
    locked = Grant(user="a", locked_setup={"generationConfig": {"temperature": 0.1}})
    o = open_({"model": MODEL, "generationConfig": {"temperature": 0.9}}, grant=locked)
    assert o.setup["generationConfig"] == {"temperature": 0.1}
    bad = Grant(user="a", locked_setup={"httpOptions": {}})
    assert refused({"model": MODEL}, grant=bad).code == closecodes.INVALID_ARGUMENT


def test_resumption_names_the_users_own_session_only() -> None:
    handle = resumption.mint(SECRET, "sid-1", "alice")
    o = open_({"model": MODEL, "sessionResumption": {"handle": handle}})
    assert o.resume == "sid-1" and o.setup["sessionResumption"] == {}
    e = refused({"model": MODEL, "sessionResumption": {"handle": handle}},
                grant=Grant(user="mallory"))
    assert e.code == closecodes.INVALID_ARGUMENT
    assert refused({"model": MODEL, "sessionResumption": {"handle": "forged"}}).code == 1007


def test_a_resumed_session_keeps_its_start_and_its_tokens_expiry() -> None:
    """max_session_s counts from the session's first connection; a newer token of the same user
    does not extend the expiry of the token that opened the session."""
    now = time.time()
    handle = resumption.mint(SECRET, "sid-1", "alice", started_at=now - 50,
                             expires_at=now + 100)
    setup = {"model": MODEL, "sessionResumption": {"handle": handle}}
    o = handshake.opening(json.dumps({"setup": setup}), Grant(user="alice", expires_at=now + 900),
                          allowed_models=ALLOWED, max_bytes=1 << 20, secret=SECRET,
                          resume_grace_s=60, max_session_s=60)
    assert o.resume == "sid-1" and o.started_at == pytest.approx(now - 50)
    assert o.grant.expires_at == pytest.approx(now + 100)
    assert open_({"model": MODEL}).started_at == pytest.approx(now, abs=5)
    with pytest.raises(ProtocolError) as e:
        handshake.opening(json.dumps({"setup": setup}), USER, allowed_models=ALLOWED,
                          max_bytes=1 << 20, secret=SECRET, resume_grace_s=60, max_session_s=40)
    assert (e.value.code, e.value.reason) == (closecodes.SESSION_EXPIRED,
                                              "maximum session duration reached")


def test_the_credential_is_a_1008_when_missing_or_wrong() -> None:
    for headers in ({}, {"x-goog-api-key": "wrong"}, {"authorization": "Token auth_tokens/x"}):
        with pytest.raises(ProtocolError) as e:
            handshake.grant(headers, {}, ["the-key-0123456789"], SECRET)
        assert e.value.code == closecodes.POLICY and "wrong" not in e.value.reason
