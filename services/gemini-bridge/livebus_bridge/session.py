"""One upstream Gemini Live session, driven by its bus subjects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from google import genai
from google.genai import errors, types
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from websockets.exceptions import ConnectionClosed

from livebus import closecodes, headers, subjects
from livebus.logs import session_id_var
from livebus.runtime import cancel_and_wait
from livebus.v1 import bus_pb2

from . import metrics, upstream
from .settings import BridgeSettings

log = logging.getLogger(__name__)

AUDIO_IN_MIME = "audio/pcm;rate=16000"


def _close_of(e: BaseException) -> bus_pb2.Close:
    if isinstance(e, errors.APIError):
        reason = e.details if isinstance(e.details, str) else (e.message or str(e.status))
        return bus_pb2.Close(code=int(e.code or closecodes.INTERNAL),
                             reason=closecodes.clamp_reason(str(reason or "")))
    return bus_pb2.Close(code=closecodes.INTERNAL,
                         reason=closecodes.clamp_reason(f"upstream error: {type(e).__name__}"))


def split_audio(msg: types.LiveServerMessage) -> tuple[list[types.Blob], dict[str, Any] | None]:
    """Audio parts (sent raw) and the rest of the message as wire JSON (None when empty)."""
    audio: list[types.Blob] = []
    sc = msg.server_content
    if sc is not None and sc.model_turn is not None and sc.model_turn.parts:
        rest = []
        for part in sc.model_turn.parts:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                audio.append(blob)
            else:
                rest.append(part)
        if audio:
            sc.model_turn = types.Content(role=sc.model_turn.role, parts=rest) if rest else None
    wire = msg.model_dump(mode="json", by_alias=True, exclude_none=True)
    if wire.get("serverContent") == {}:
        del wire["serverContent"]
    return audio, (wire or None)


class UpstreamSession:
    def __init__(self, req: bus_pb2.OpenSession, client: genai.Client, nc: NATS,
                 nc_video: NATS, settings: BridgeSettings) -> None:
        self.req = req
        self.id = req.session_id
        self.client = client
        self.nc = nc
        self.nc_video = nc_video
        self.settings = settings
        self.done = asyncio.Event()
        self.last_uplink = time.monotonic()
        self._live: Any = None  # google.genai.live.AsyncSession
        self._frame: tuple[bytes, str] | None = None
        self._frame_ready = asyncio.Event()
        self._subs: list[Subscription] = []

    async def run(self, reply: Msg) -> None:
        session_id_var.set(self.id)
        try:
            config = upstream.connect_config(self.req.setup_json)
        except Exception as e:
            await self._reply(reply, False, error=bus_pb2.Close(
                code=closecodes.INVALID_ARGUMENT, reason=closecodes.clamp_reason(f"setup: {e}")))
            return
        close = bus_pb2.Close(code=closecodes.NORMAL, reason="session ended")
        opened = False
        try:
            async with self.client.aio.live.connect(model=self.req.model, config=config) as live:
                self._live = live
                self._subs = [
                    await self.nc.subscribe(subjects.up_all(self.id), cb=self._on_uplink,
                                            pending_msgs_limit=65536),
                    await self.nc_video.subscribe(subjects.video_sampled(self.id),
                                                  cb=self._on_video),
                ]
                complete = (live.setup_complete.model_dump(mode="json", by_alias=True,
                                                           exclude_none=True)
                            if live.setup_complete else {})
                await self._reply(reply, True, complete=complete)
                opened = True
                metrics.OPENS.labels("ok").inc()
                log.info("upstream session open (model %s)", self.req.model)
                tasks = [asyncio.create_task(self._downlink(live)),
                         asyncio.create_task(self._video_sender()),
                         asyncio.create_task(self._watchdog()),
                         asyncio.create_task(self.done.wait())]
                finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for t in finished:
                    if not t.cancelled() and t.exception() is not None:
                        close = _close_of(t.exception())  # type: ignore[arg-type]
                    elif t is tasks[2]:
                        close = bus_pb2.Close(code=closecodes.GOING_AWAY, reason="idle timeout")
                await cancel_and_wait(*tasks)
        except Exception as e:
            close = _close_of(e)
            if not opened:
                metrics.OPENS.labels("upstream_error").inc()
                log.warning("upstream refused the session: %s %s", close.code, close.reason)
                await self._reply(reply, False, error=close)
                return
        finally:
            for sub in self._subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
        metrics.UPSTREAM_CLOSES.labels(str(close.code)).inc()
        if not self.done.is_set():  # the upstream ended it: tell the client
            await self._publish_event(bus_pb2.ServerEvent(close=close))
        log.info("upstream session closed: %s %s", close.code, close.reason)

    async def _reply(self, reply: Msg, ok: bool, complete: dict[str, Any] | None = None,
                     error: bus_pb2.Close | None = None) -> None:
        msg = bus_pb2.OpenSessionReply(ok=ok, bridge_id=self.settings.instance_id)
        if complete is not None:
            msg.setup_complete_json = json.dumps(complete).encode()
        if error is not None:
            msg.error.CopyFrom(error)
        await reply.respond(msg.SerializeToString())

    # -- uplink: audio and control in the order the client sent them --------------------------

    async def _on_uplink(self, msg: Msg) -> None:
        self.last_uplink = time.monotonic()
        live = self._live
        try:
            if subjects.is_audio(msg.subject):
                metrics.AUDIO_UP_BYTES.inc(len(msg.data))
                await live.send_realtime_input(
                    audio=types.Blob(data=msg.data, mime_type=AUDIO_IN_MIME))
                return
            await self._control(live, bus_pb2.ClientEvent.FromString(msg.data))
        except ConnectionClosed:
            pass  # the downlink sees the close and ends the session
        except Exception:
            log.exception("uplink message failed")

    async def _control(self, live: Any, ev: bus_pb2.ClientEvent) -> None:
        kind = ev.WhichOneof("event")
        if kind == "text":
            await live.send_realtime_input(text=ev.text)
        elif kind == "client_content_json":
            cc = types.LiveClientContent.model_validate_json(ev.client_content_json)
            await live.send_client_content(turns=cc.turns or [],
                                           turn_complete=bool(cc.turn_complete))
        elif kind == "tool_response_json":
            tr = types.LiveClientToolResponse.model_validate_json(ev.tool_response_json)
            await live.send_tool_response(function_responses=tr.function_responses or [])
        elif kind == "activity_start":
            await live.send_realtime_input(activity_start=types.ActivityStart())
        elif kind == "activity_end":
            await live.send_realtime_input(activity_end=types.ActivityEnd())
        elif kind == "audio_stream_end":
            await live.send_realtime_input(audio_stream_end=True)
        elif kind == "close":
            self.done.set()

    # -- video: latest frame wins, never in the audio path ----------------------------------

    async def _on_video(self, msg: Msg) -> None:
        if self._frame is not None:
            metrics.FRAMES_REPLACED.inc()
        self._frame = (msg.data, (msg.headers or {}).get(headers.MIME, "image/jpeg"))
        self._frame_ready.set()

    async def _video_sender(self) -> None:
        while True:
            await self._frame_ready.wait()
            self._frame_ready.clear()
            frame, self._frame = self._frame, None
            if frame is None:
                continue
            try:
                await self._live.send_realtime_input(
                    video=types.Blob(data=frame[0], mime_type=frame[1]))
                metrics.FRAMES_UP.inc()
            except ConnectionClosed:
                return

    # -- downlink ----------------------------------------------------------------------------

    async def _downlink(self, live: Any) -> None:
        while True:
            async for message in live.receive():
                audio, rest = split_audio(message)
                for blob in audio:
                    metrics.AUDIO_DOWN_BYTES.inc(len(blob.data or b""))
                    await self.nc.publish(subjects.down_audio(self.id), blob.data or b"",
                                          headers={headers.MIME: blob.mime_type or ""})
                if rest is not None:
                    await self._publish_event(bus_pb2.ServerEvent(
                        message_json=json.dumps(rest, separators=(",", ":")).encode()))

    async def _publish_event(self, ev: bus_pb2.ServerEvent) -> None:
        try:
            await self.nc.publish(subjects.down_event(self.id), ev.SerializeToString())
        except Exception as e:
            log.warning("could not publish to the gateway: %s", e)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, self.settings.idle_timeout_s))
            if time.monotonic() - self.last_uplink > self.settings.idle_timeout_s:
                return
