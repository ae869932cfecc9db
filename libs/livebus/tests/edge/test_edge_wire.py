"""wire.py as pure functions: client frames -> actions or ProtocolError, server events -> text."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from livebus import closecodes
from livebus.edge import wire
from livebus.edge.wire import ProtocolError

PCM = base64.b64encode(b"\x00\x01" * 160).decode()
AUDIO = {"mimeType": "audio/pcm;rate=16000", "data": PCM}


def parse(msg: Any, max_chunks: int = wire.MAX_CHUNKS) -> list[wire.Action]:
    return wire.parse_client_frame(json.dumps(msg), 960 * 1024, max_chunks)


def refused(msg: Any | str) -> ProtocolError:
    frame = msg if isinstance(msg, str) else json.dumps(msg)
    with pytest.raises(ProtocolError) as e:
        wire.parse_client_frame(frame, 960 * 1024)
    return e.value


def test_audio_video_and_chunks_become_actions() -> None:
    png = base64.b64encode(b"\x89PNG....").decode()
    actions = parse({"realtimeInput": {"audio": AUDIO, "video": {"mimeType": "image/png",
                                                                 "data": png}}})
    assert [type(a) for a in actions] == [wire.Audio, wire.Video]
    chunks = parse({"realtime_input": {"media_chunks": [AUDIO] * 3}})
    assert wire.chunk_count(chunks) == 3 and wire.publish_count(chunks) == 3


def test_too_many_chunks_in_one_message_is_a_rate_limit() -> None:
    e = refused({"realtimeInput": {"mediaChunks": [AUDIO] * (wire.MAX_CHUNKS + 1)}})
    assert e.code == closecodes.RATE_LIMITED
    assert e.reason.startswith("rate limit exceeded: 33 media chunks")
    assert wire.chunk_count(parse({"realtimeInput": {"mediaChunks": [AUDIO] * 2}}, 2)) == 2


@pytest.mark.parametrize("frame", [
    "[" * 100_000 + "]" * 100_000,
    '{"realtimeInput": {"text": ' + "[" * 100_000 + "]" * 100_000 + "}}",
    '{"clientContent": ' + '{"b": ' * 101 + "1" + "}" * 102,
    '{"toolResponse": {"functionResponses": [' + "[" * 150 + "]" * 150 + "]}}",
    '{"clientContent": {"turns": [' + "[]," * 150_000 + "[]]}}",
    '{"clientContent": {"x": "' + "a" * 20_000 + '", "y": ' + "[" * 500 + "]" * 500 + "}}",
])
def test_deep_or_huge_nesting_is_refused(frame: str) -> None:
    e = refused(frame)
    assert e.code == closecodes.INVALID_ARGUMENT
    assert e.reason.startswith("Invalid JSON payload received")
    assert "Unknown name" not in e.reason


def test_setup_nesting_is_bounded() -> None:
    with pytest.raises(ProtocolError, match="nesting deeper than 100"):
        wire.parse_setup('{"setup": {"model": "m", "x": ' + "[" * 200 + "]" * 200 + "}}")


def test_brackets_inside_strings_do_not_count() -> None:
    [action] = parse({"realtimeInput": {"text": "[" * 5000}})
    assert isinstance(action, wire.Control) and action.event.text == "[" * 5000
    assert wire.value_problem({"a": [[[[1]]]]}) is None
    assert wire.value_problem([[]] * 10) is None


@pytest.mark.parametrize("msg", [
    {"toolResponse": {"functionResponses": [{"id": "a", "name": "f", "response": {},
                                             "scheduling": 5}]}},
    {"toolResponse": {"functionResponses": [{"id": "a", "name": "f", "scheduling": {}}]}},
    {"toolResponse": {"functionResponses": [{"id": "a", "scheduling": "SOMETIMES"}]}},
    {"toolResponse": {"functionResponses": {"id": "a"}}},
    {"toolResponse": {"functionResponses": [{"id": "a", "bogus": 1}]}},
    {"clientContent": {"turns": [{"role": 5, "parts": [{"text": "hi"}]}]}},
    {"clientContent": {"turns": {"role": "user"}}},
    {"clientContent": {"turns": [{"parts": [{"inlineData": {"mimeType": "image/png",
                                                            "data": "!!"}}]}]}},
    {"realtimeInput": {"activityStart": 1}},
    {"realtimeInput": {"activityEnd": {"x": 1}}},
    {"realtimeInput": {"audioStreamEnd": "yes"}},
    {"realtimeInput": {"text": 5}},
    {"realtimeInput": {"audio": {"mimeType": 5, "data": PCM}}},
    {"realtimeInput": {"mediaChunks": [{"mimeType": {}, "data": PCM}]}},
])
def test_wrong_types_and_enum_values_are_1007(msg: dict[str, Any]) -> None:
    assert refused(msg).code == closecodes.INVALID_ARGUMENT


def test_tool_response_without_an_id_is_forwarded_with_a_note() -> None:
    actions = parse({"toolResponse": {"functionResponses": [{"name": "f", "response": {}}]}})
    assert isinstance(actions[0], wire.Control)
    assert actions[1] == wire.Note("toolResponse without an id")
    assert wire.publish_count(actions) == 1
    ok = parse({"toolResponse": {"functionResponses": [{"id": "1", "name": "f",
                                                        "response": {"x": 1}}]}})
    assert len(ok) == 1


def test_client_content_passes_unchanged() -> None:
    body = {"turns": [{"role": "user", "parts": [{"text": "newHandle"}]}], "turnComplete": True}
    [action] = parse({"clientContent": body})
    assert isinstance(action, wire.Control)
    assert json.loads(action.event.client_content_json) == body


def test_resumption_update_gets_livebus_handle() -> None:
    up = json.dumps({"sessionResumptionUpdate": {"newHandle": "upstream", "resumable": True}})
    out = wire.server_message(up.encode(), "livebus-h1.x")
    assert json.loads(out.text) == {"sessionResumptionUpdate": {"newHandle": "livebus-h1.x",
                                                                "resumable": True}}


@pytest.mark.parametrize("msg", [
    {"serverContent": {"modelTurn": {"parts": [{"text": 'say "newHandle": "x"'}]}}},
    {"toolCall": {"functionCalls": [{"id": "1", "name": "f",
                                     "args": {"sessionResumptionUpdate": {"newHandle": "k"}}}]}},
    {"serverContent": {"outputTranscription": {"text": '"turnComplete":true'}}},
    {"sessionResumptionUpdate": {"resumable": False}},
])
def test_other_messages_reach_the_client_byte_for_byte(msg: dict[str, Any]) -> None:
    raw = json.dumps(msg, separators=(",", ":")).encode()
    out = wire.server_message(raw, "livebus-h1.x")
    assert out.text == raw.decode()
    assert not out.turn_complete and not out.reply_over


def test_turn_ends_are_parsed() -> None:
    done = wire.server_message(b'{"serverContent": {"turnComplete": true}}', "h")
    assert done.turn_complete and done.reply_over
    cut = wire.server_message(b'{"serverContent":{"interrupted":true}}', "h")
    assert cut.reply_over and not cut.turn_complete
    assert not wire.server_message(b"not json", "h").reply_over


def test_audio_message_is_the_wire_json() -> None:
    text = wire.audio_message("audio/pcm;rate=24000", b"\x01\x02")
    part = json.loads(text)["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
    assert part == {"mimeType": "audio/pcm;rate=24000",
                    "data": base64.b64encode(b"\x01\x02").decode()}
