"""Server messages reach the client as the upstream wrote them, minus audio and server tools."""

from __future__ import annotations

import json

from bridge_fakes import upstream_session

from livebus import audioframe, b64, subjects
from livebus.v1 import bus_pb2
from livebus_bridge import relay

PCM = b"\x01\x02" * 240


def events(nc: object) -> list[dict[str, object]]:
    return [json.loads(bus_pb2.ServerEvent.FromString(d).message_json)
            for s, d in nc.published  # type: ignore[attr-defined]
            if s == subjects.down_event("s1")]


async def test_unknown_nested_fields_and_voice_activity_pass_untouched() -> None:
    session, nc, _ = await upstream_session()
    sent = {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "0.500s",
                              "futureField": {"deeper": [1, {"x": True}]}},
            "serverContent": {"interimInputTranscription": {"text": "he", "newThing": 3},
                              "turnCompleteReason": "NEED_MORE_INPUT",
                              "waitingForInput": True}}
    await session.downlink.handle(json.dumps(sent).encode())
    assert events(nc) == [sent]


async def test_audio_goes_raw_and_the_rest_keeps_its_own_spelling() -> None:
    session, nc, _ = await upstream_session()
    msg = {"serverContent": {"modelTurn": {"role": "model", "parts": [
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": b64.encode(PCM)}},
        {"text": "hi", "partFromTheFuture": {"a": 1}}]},
        "outputTranscription": {"text": "hi", "speakerLabel": "spk_1"}},
        "usageMetadata": {"promptTokenCount": 3, "serviceTier": "STANDARD"}}
    await session.downlink.handle(json.dumps(msg).encode())
    subject, data = nc.published[0]
    assert subject == subjects.down_audio("s1") and audioframe.unpack(data).pcm == PCM
    assert events(nc) == [{"serverContent": {
        "modelTurn": {"role": "model", "parts": [{"text": "hi", "partFromTheFuture": {"a": 1}}]},
        "outputTranscription": {"text": "hi", "speakerLabel": "spk_1"}},
        "usageMetadata": {"promptTokenCount": 3, "serviceTier": "STANDARD"}}]


def test_client_view_takes_out_audio_server_calls_and_their_cancellations() -> None:
    audio = {"inline_data": {"mime_type": "audio/pcm", "data": "AAA="}}
    assert relay.client_view({"server_content": {"model_turn": {"parts": [audio]}}},
                             is_server=lambda n: False, cancelled_client_ids=None) is None
    calls = {"toolCall": {"functionCalls": [{"name": "srv", "id": "1"}, {"name": "c", "id": "2"},
                                           {"name": "c", "id": "3", "later": {}}]}}
    assert relay.client_view(calls, is_server=lambda n: n == "srv",
                             cancelled_client_ids=None) == {"toolCall": {"functionCalls": [
                                 {"name": "c", "id": "2"}, {"name": "c", "id": "3", "later": {}}]}}
    cancel = {"toolCallCancellation": {"ids": ["1", "2"], "why": "x"}}
    assert relay.client_view(cancel, is_server=lambda n: False,
                             cancelled_client_ids=["2"]) == {
        "toolCallCancellation": {"ids": ["2"], "why": "x"}}
