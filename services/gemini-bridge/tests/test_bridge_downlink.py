"""The downlink: reply audio raw, the rest as wire JSON, one handler per field, no substrings."""

from __future__ import annotations

import asyncio
import json

from bridge_fakes import FakeSocket, attach, upstream_session
from google.genai import types

from livebus import audioframe, b64, subjects
from livebus.v1 import bus_pb2
from livebus_bridge.downlink import fast_audio, seconds, split_audio

PCM = b"\x01\x02" * 480


def audio_message(*pcm: bytes, extra: dict[str, object] | None = None) -> bytes:
    parts = [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": b64.encode(p)}}
             for p in pcm]
    sc: dict[str, object] = {"modelTurn": {"parts": parts}, **(extra or {})}
    return json.dumps({"serverContent": sc}).encode()


def test_fast_audio_takes_pure_audio_only() -> None:
    assert fast_audio(audio_message(PCM, PCM)) == [("audio/pcm;rate=24000", PCM)] * 2
    assert fast_audio(audio_message(PCM, extra={"turnComplete": True})) is None
    assert fast_audio(b'{"serverContent":{"modelTurn":{"parts":[{"text":"hi"}]}}}') is None
    assert fast_audio(b"not json") is None
    assert fast_audio(b'{"serverContent": 3}') is None


def test_split_audio_keeps_everything_but_the_audio() -> None:
    m = types.LiveServerMessage.model_validate_json(audio_message(
        PCM, extra={"turnComplete": True, "outputTranscription": {"text": "hi"}}))
    audio, rest = split_audio(m)
    assert [a.data for a in audio] == [PCM]
    assert rest == {"serverContent": {"turnComplete": True, "outputTranscription": {"text": "hi"}}}
    only = types.LiveServerMessage.model_validate_json(audio_message(PCM))
    assert split_audio(only)[1] is None


def test_seconds() -> None:
    assert seconds("12.5s") == 12.5 and seconds(None) == 0.0 and seconds("soon") == 0.0


def published(nc: object) -> list[tuple[str, bytes]]:
    """What went to the gateway, audio as its PCM."""
    return [(s, audioframe.unpack(d).pcm if subjects.is_audio(s) else d)
            for s, d in nc.published]  # type: ignore[attr-defined]


async def test_text_that_names_a_field_passes_through_untouched() -> None:
    session, nc, _ = await upstream_session()
    tricky = {"serverContent": {"modelTurn": {"parts": [
        {"text": 'say "newHandle" and "goAway" and "turnComplete":true'}]}}}
    await session.downlink.handle(json.dumps(tricky).encode())
    ((subject, data),) = published(nc)
    assert subject == subjects.down_event("s1")
    assert json.loads(bus_pb2.ServerEvent.FromString(data).message_json) == tricky
    assert session.conv.handle is None and not session.conn.handoff.is_set()


async def test_pure_audio_goes_raw_and_opens_the_turn() -> None:
    session, nc, _ = await upstream_session()
    await session.downlink.handle(audio_message(PCM))
    assert published(nc) == [(subjects.down_audio("s1"), PCM)]
    frame = audioframe.unpack(nc.published[0][1])  # type: ignore[attr-defined]
    assert (frame.mime, frame.seq) == ("audio/pcm;rate=24000", 1)
    assert session.conv.in_turn


async def test_resumption_updates_are_kept_and_hidden_unless_the_client_asked() -> None:
    session, nc, _ = await upstream_session()
    update = b'{"sessionResumptionUpdate":{"newHandle":"h2","resumable":true}}'
    await session.downlink.handle(update)
    assert session.conv.handle == "h2" and published(nc) == []
    wants, nc2, _ = await upstream_session(setup=b'{"sessionResumption":{}}')
    await wants.downlink.handle(update)
    assert wants.conv.handle == "h2" and len(published(nc2)) == 1


async def test_goaway_is_hidden_and_plans_the_switch() -> None:
    session, nc, _ = await upstream_session()
    await session.downlink.handle(b'{"goAway":{"timeLeft":"30s"}}')
    assert published(nc) == [] and session.conn.handoff.is_set()


async def test_a_collapsed_context_after_a_resume_asks_for_a_rebuild() -> None:
    session, _, _ = await upstream_session()
    session.conv.prompt_tokens, session.conv.resumed_check = 1000, True
    await session.downlink.handle(b'{"usageMetadata":{"promptTokenCount":100}}')
    assert session.conv.context_lost and session.conn.handoff.is_set()


async def test_turn_complete_ends_the_turn_and_lets_a_drain_move_the_session() -> None:
    session, _, _ = await upstream_session()
    session.conv.in_turn = True
    session.request_migration()
    assert not session.migrate.is_set()
    await session.downlink.handle(
        b'{"serverContent":{"outputTranscription":{"text":"bye"},"turnComplete":true}}')
    assert not session.conv.in_turn and session.migrate.is_set()


async def test_server_tool_calls_are_hidden_client_ones_pass_and_cancel_splits() -> None:
    spec = {"declaration": {"name": "clock"}, "timeout_s": 1.0, "behavior": "BLOCKING"}
    session, nc, _ = await upstream_session(tools=[spec])  # type: ignore[list-item]
    release = asyncio.Event()

    async def slow(subject: str, payload: bytes) -> object:
        await release.wait()
        raise RuntimeError

    nc.responder = slow  # type: ignore[assignment]
    await session.downlink.handle(
        b'{"toolCall":{"functionCalls":[{"id":"a","name":"clock","args":{}}]}}')
    assert published(nc) == []
    await session.downlink.handle(json.dumps({"toolCall": {"functionCalls": [
        {"id": "a2", "name": "clock", "args": {}},
        {"id": "b", "name": "mine", "args": {}}]}}).encode())
    (only,) = published(nc)
    ev = json.loads(bus_pb2.ServerEvent.FromString(only[1]).message_json)
    assert [c["id"] for c in ev["toolCall"]["functionCalls"]] == ["b"]
    nc.published.clear()
    await session.downlink.handle(b'{"toolCallCancellation":{"ids":["a","b"]}}')
    cancel_event = [d for s, d in published(nc) if s == subjects.down_event("s1")]
    ids = json.loads(bus_pb2.ServerEvent.FromString(cancel_event[0]).message_json)
    assert ids == {"toolCallCancellation": {"ids": ["b"]}}
    release.set()
    session.tools.close()


async def test_run_reads_until_the_connection_ends() -> None:
    session, nc, _ = await upstream_session()
    sock = FakeSocket()
    up = attach(session, sock)
    sock.incoming.put_nowait(audio_message(PCM))
    reader = asyncio.create_task(session.downlink.run(up))
    await asyncio.sleep(0.05)
    assert published(nc) == [(subjects.down_audio("s1"), PCM)]
    reader.cancel()


async def test_a_message_the_sdk_cannot_read_reaches_the_client_as_it_came() -> None:
    session, nc, _ = await upstream_session()
    newer = b'{"voiceActivity":{"type":"ACTIVITY_START"},"somethingNew":{"x":1}}'
    await session.downlink.handle(newer)
    await session.downlink.handle(b"\xff not json")
    ((_subject, data),) = published(nc)
    assert bus_pb2.ServerEvent.FromString(data).message_json == newer
