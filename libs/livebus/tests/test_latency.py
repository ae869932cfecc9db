"""latency.py: what ends a reply is read from the parsed message, never from its bytes."""

from __future__ import annotations

import json

import pytest

from livebus import latency


@pytest.mark.parametrize("message", [
    {"serverContent": {"turnComplete": True}},
    {"serverContent": {"interrupted": True}},
    {"server_content": {"turn_complete": True}},
    {"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}, "turnComplete": True}},
])
def test_turn_complete_or_interrupted_ends_the_reply(message: dict[str, object]) -> None:
    assert latency.ends_reply(json.dumps(message).encode())
    assert latency.ends_reply(json.dumps(message, separators=(",", ":")))
    assert latency.ends_reply(message)


@pytest.mark.parametrize("raw", [
    # The markers inside model text or tool arguments end nothing.
    json.dumps({"serverContent": {"modelTurn": {"parts": [
        {"text": '"turnComplete":true and "interrupted":true'}]}}}, separators=(",", ":")),
    json.dumps({"toolCall": {"functionCalls": [{"id": "1", "name": "f",
                                                "args": {"turnComplete": True}}]}},
               separators=(",", ":")),
    json.dumps({"serverContent": {"turnComplete": False}}),
    json.dumps({"serverContent": {"turnComplete": "true"}}),
    '{"serverContent": ' * 5000 + "1" + "}" * 5000,
    "not json", "[]", '"turnComplete":true',
])
def test_anything_else_does_not(raw: str) -> None:
    assert not latency.ends_reply(raw.encode())
