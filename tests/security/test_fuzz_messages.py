"""Fuzzing client messages: the gateway's parser only ever answers with actions or a documented
close code, and over real sockets hostile messages get exactly that code, with no traceback in
the gateway's log, while an unaffected session keeps talking.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning

from livebus.edge import wire
from livebus.edge.wire import ProtocolError
from livebus_dev.devstack import Stack

from .livews import ending, live_socket, typed_turn

DOCUMENTED = {1007, 1008, 1009}
MAX_FRAME = 960 * 1024
FIELDS = ["mimeType", "mime_type", "data", "id", "name", "response", "scheduling", "role",
          "parts", "text", "turns", "turnComplete", "inlineData", "willContinue", "x"]
REALTIME = [*wire.REALTIME_FIELDS, "bogus"]

leaf = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
        | st.sampled_from(["AAAA", "!!", "audio/pcm;rate=16000", "image/png", "INTERRUPT"]))
value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=4), max_leaves=16)
blob = st.fixed_dictionaries({}, optional={
    "mimeType": st.sampled_from(["audio/pcm;rate=16000", "audio/pcm;rate=8000", "image/jpeg",
                                 "text/plain"]) | value,
    "data": st.sampled_from(["AAAA", "AAA", "!!", ""]) | value})
realtime = st.dictionaries(st.sampled_from(REALTIME), blob | st.lists(blob, max_size=3) | value,
                           max_size=3)
part = st.dictionaries(st.sampled_from(["text", "inlineData", "functionCall", "thought", "x"]),
                       blob | value, max_size=2)
content = st.fixed_dictionaries({}, optional={"role": st.sampled_from(["user", "model"]) | value,
                                              "parts": st.lists(part, max_size=3) | value})
client_content = st.fixed_dictionaries({}, optional={
    "turns": st.lists(content, max_size=2) | value, "turnComplete": st.booleans() | value,
    "x": value})
response = st.dictionaries(st.sampled_from(["id", "name", "response", "scheduling",
                                            "willContinue", "x"]), value, max_size=4)
tool_response = st.fixed_dictionaries({}, optional={
    "functionResponses": st.lists(response, max_size=3) | value})
message: st.SearchStrategy[Any] = st.one_of(
    st.fixed_dictionaries({"realtimeInput": realtime}),
    st.fixed_dictionaries({"realtime_input": realtime}),
    st.fixed_dictionaries({"clientContent": client_content}),
    st.fixed_dictionaries({"toolResponse": tool_response}),
    st.dictionaries(st.sampled_from([*wire.TOP_LEVEL, "setup", "bogus"]), value,
                    max_size=2),
    value)
frames: st.SearchStrategy[str | bytes] = st.one_of(
    message.map(json.dumps), st.text(max_size=40), st.binary(max_size=40),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n))


def outcome(frame: str | bytes) -> int | None:
    """The close code the parser answers with, or None when it yields actions."""
    try:
        actions = wire.parse_client_frame(frame, MAX_FRAME)
    except ProtocolError as e:
        assert e.code in DOCUMENTED, (e.code, e.reason)
        assert len(e.reason.encode()) <= 123
        return e.code
    assert all(isinstance(a, wire.Audio | wire.Video | wire.Control | wire.Note)
               for a in actions)
    return None


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_parser_answers_only_with_actions_or_documented_codes(frame: str | bytes) -> None:
    outcome(frame)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.fixed_dictionaries({"setup": st.dictionaries(
    st.sampled_from(["model", "generationConfig", "tools", "x"]), value, max_size=3)}), message)
    .map(json.dumps) | st.text(max_size=40) | st.binary(max_size=40))
def test_setup_parser_answers_only_with_a_setup_or_1007(frame: str | bytes) -> None:
    try:
        setup = wire.parse_setup(frame)
    except ProtocolError as e:
        assert e.code == 1007, (e.code, e.reason)
        return
    assert isinstance(setup["model"], str) and setup["model"]


def hostile_examples(n: int) -> list[tuple[str, int]]:
    """A few generated messages the parser refuses, with the code it refuses them with."""
    out: list[tuple[str, int]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        while len(out) < n:
            frame = json.dumps(message.example())
            code = outcome(frame)
            if code is not None:
                out.append((frame, code))
    return out


async def test_hostile_messages_over_sockets_get_their_codes(stack: Stack) -> None:
    async with live_socket(stack) as good:
        for frame, code in hostile_examples(8):
            async with live_socket(stack) as ws:
                await ws.send(frame)
                end = await ending(ws, 15)
            assert end.code == code, (frame, end)
            reply = await typed_turn(good, "still talking")
            assert any("serverContent" in m for m in reply)
    log = (stack.cfg.dir / "logs" / "gateway-0.log").read_text()
    assert "Traceback" not in log and "session failed" not in log
