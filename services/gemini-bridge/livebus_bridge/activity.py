"""Turn detection at the bridge: in local mode silence is not streamed upstream.

Gemini bills every second of audio it receives, silence included. In the local mode the bridge
runs its own voice activity detector over the uplink, turns the upstream's automatic activity
detection off, and sends `activityStart` (followed by the audio of just before the onset, the
prefix) when speech starts and `activityEnd` after `silence_ms` without speech; between turns
nothing goes up. `activityStart` during a reply interrupts it upstream, as the upstream's own
detector would (unless the client chose `activityHandling: NO_INTERRUPTION`).

The detector is webrtcvad (webrtcvad-wheels, already pinned for the gateway's TTFAB clock):
a few microseconds per 20 ms frame in C, no model weights, no per-session threads. Its own
hangover calls ~80 ms of quiet after speech "speech": a frame counts as voiced only when it is
also above `floor_rms`, so a turn ends `silence_ms` after the last audible speech, where the
upstream's energy detector ends it too (bench/cost.py measures the difference).

Modes (`plan`): LOCAL gates the audio; SERVER leaves it to the upstream; CLIENT: the client
disabled automatic detection itself (its own push-to-talk) and everything passes untouched. In
every mode the gate knows whether the user is speaking, for the speech state (speech.py).

With its detection off the upstream sends no `voiceActivity` messages, so in LOCAL mode the gate
reports its own (`reports`, sent to the client as `voice_activity` spells them) at the moments
the upstream's detector would: the start when the onset is committed, backdated to the first
voiced frame; the end when the quiet ends the turn, at the end of the last voiced frame. Offsets
are in audio time since the session's first sample at this bridge, as the upstream's are since
its connection's.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad
from google.genai import types

from livebus.v1 import bus_pb2

from .settings import BridgeSettings

RATE = 16000
FRAME_BYTES = RATE * 2 * 20 // 1000  # 20 ms of PCM16 16 kHz
FRAME_S = 0.02
BYTES_PER_S = RATE * 2
START = bus_pb2.ClientEvent(activity_start=True)  # seq 0: the bridge's own, never resent
END = bus_pb2.ClientEvent(activity_end=True)
Item = bytes | bus_pb2.ClientEvent


class Mode(enum.Enum):
    LOCAL = "local"
    SERVER = "server"
    CLIENT = "client"


@dataclass(frozen=True)
class GateConfig:
    prefix_ms: int = 300     # audio before the onset sent after activityStart
    onset_ms: int = 40       # voiced audio that commits a start (the client's prefixPaddingMs)
    silence_ms: int = 500    # quiet that ends a turn (the client's silenceDurationMs)
    tail_ms: int = 200       # quiet after speech streamed at once; longer pauses are held
    floor_rms: float = 0.005  # below this (of full scale) a frame is quiet whatever the VAD says
    vad_mode: int = 3        # webrtcvad aggressiveness: 3 rejects the most noise


def plan(config: types.LiveConnectConfig, wanted: str,
         base: GateConfig) -> tuple[types.LiveConnectConfig, Mode, GateConfig]:
    """The upstream config, the mode, and the gate's parameters for a session. `wanted`:
    "local", "server" (the session's choice, else the bridge's default)."""
    ric = config.realtime_input_config or types.RealtimeInputConfig()
    aad = ric.automatic_activity_detection or types.AutomaticActivityDetection()
    if aad.disabled:
        return config, Mode.CLIENT, base
    if wanted != Mode.LOCAL.value:
        return config, Mode.SERVER, base
    gate = GateConfig(prefix_ms=base.prefix_ms,
                      onset_ms=aad.prefix_padding_ms or base.onset_ms,
                      silence_ms=aad.silence_duration_ms or base.silence_ms,
                      tail_ms=base.tail_ms, floor_rms=base.floor_rms, vad_mode=base.vad_mode)
    off = types.AutomaticActivityDetection(disabled=True)
    upstream = config.model_copy(update={
        "realtime_input_config": ric.model_copy(update={"automatic_activity_detection": off})})
    return upstream, Mode.LOCAL, gate


class Gate:
    """Feeds on the uplink in client order; says what goes upstream, in order."""

    def __init__(self, mode: Mode, cfg: GateConfig) -> None:
        self.mode = mode
        self.cfg = cfg
        self.vad = webrtcvad.Vad(cfg.vad_mode) if mode is not Mode.CLIENT else None
        self.speaking = False          # the user's activity (any mode)
        self.changed = False           # `speaking` changed since the flag was last cleared
        self._rest = b""               # a partial 20 ms frame carried to the next chunk
        self._before: deque[bytes] = deque()  # idle: recent audio, the next turn's prefix
        self._before_bytes = 0
        self._held: list[bytes] = []   # in a turn: a pause past tail_ms, sent if speech resumes
        self._voiced_run = 0.0         # idle: seconds of consecutive voiced audio
        self._quiet = 0.0              # in a turn: seconds since the last voiced audio
        self.dropped_bytes = 0         # audio never sent upstream (metrics)
        self.reports: list[tuple[bool, float]] = []  # LOCAL: (start?, audio offset) to tell
        self._frames = 0               # whole 20 ms frames seen: the audio clock
        self._run_start_s = 0.0        # idle: where the voiced run began
        self._last_voiced_s = 0.0      # the end of the last voiced frame
        self._chunk_first_s = 0.0      # this chunk's first voiced frame (when voiced)

    def feed(self, item: Item) -> list[Item]:
        if isinstance(item, bytes):
            return self._audio(item)
        return self._control(item)

    def _control(self, ev: bus_pb2.ClientEvent) -> list[Item]:
        kind = ev.WhichOneof("event")
        if self.mode is Mode.CLIENT:
            if kind in ("activity_start", "activity_end"):
                self._set(kind == "activity_start")
            return [ev]
        if self.mode is Mode.LOCAL and kind in ("activity_start", "activity_end",
                                                "audio_stream_end"):
            # The client believes the upstream detects activity: its own signals would be
            # refused there; the stream's end ends a turn in progress, as it does upstream.
            return self._end() if kind == "audio_stream_end" and self.speaking else []
        if kind == "audio_stream_end" and self.speaking:
            self._set(False)
        return [ev]

    def _audio(self, pcm: bytes) -> list[Item]:
        if self.mode is Mode.CLIENT:
            return [pcm]
        voiced = self._voiced(pcm)
        seconds = len(pcm) / BYTES_PER_S
        if self.mode is Mode.SERVER:
            self._track(voiced, seconds)
            return [pcm]
        return self._in_turn(pcm, voiced, seconds) if self.speaking else \
            self._idle(pcm, voiced, seconds)

    def _track(self, voiced: bool, seconds: float) -> None:
        """Server mode: the same decisions, for the speech state only."""
        if not self.speaking:
            self._voiced_run = self._voiced_run + seconds if voiced else 0.0
            if self._voiced_run * 1000 >= self.cfg.onset_ms:
                self._quiet = 0.0
                self._set(True)
            return
        self._quiet = 0.0 if voiced else self._quiet + seconds
        if self._quiet * 1000 >= self.cfg.silence_ms:
            self._voiced_run = 0.0
            self._set(False)

    def _idle(self, pcm: bytes, voiced: bool, seconds: float) -> list[Item]:
        self._before.append(pcm)
        self._before_bytes += len(pcm)
        if voiced and not self._voiced_run:
            self._run_start_s = self._chunk_first_s
        self._voiced_run = self._voiced_run + seconds if voiced else 0.0
        if self._voiced_run * 1000 >= self.cfg.onset_ms:
            out: list[Item] = [START, *self._before]
            self._before.clear()
            self._before_bytes = 0
            self._quiet = 0.0
            self._set(True)
            self.reports.append((True, self._run_start_s))
            return out
        # Keep the prefix plus the voiced run still short of an onset.
        keep = (self.cfg.prefix_ms / 1000 + self._voiced_run) * BYTES_PER_S
        while self._before and self._before_bytes - len(self._before[0]) >= keep:
            old = self._before.popleft()
            self._before_bytes -= len(old)
            self.dropped_bytes += len(old)
        return []

    def _in_turn(self, pcm: bytes, voiced: bool, seconds: float) -> list[Item]:
        if voiced:
            out: list[Item] = [*self._held, pcm]
            self._held = []
            self._quiet = 0.0
            return out
        self._quiet += seconds
        if self._quiet * 1000 >= self.cfg.silence_ms:
            self._before.extend(self._held)  # the pause's audio may start the next prefix
            self._before_bytes += sum(len(b) for b in self._held)
            self._held = []
            return self._end() + self._idle(pcm, False, seconds)
        if self._quiet * 1000 <= self.cfg.tail_ms:
            return [pcm]
        self._held.append(pcm)
        return []

    def _end(self) -> list[Item]:
        self.dropped_bytes += sum(len(b) for b in self._held)
        self._held = []
        self._voiced_run = 0.0
        self._set(False)
        self.reports.append((False, self._last_voiced_s))
        return [END]

    def _set(self, speaking: bool) -> None:
        if speaking != self.speaking:
            self.speaking = speaking
            self.changed = True

    def _voiced(self, pcm: bytes) -> bool:
        """True when a whole 20 ms frame completed by this chunk is speech and audible."""
        assert self.vad is not None
        buf = self._rest + pcm if self._rest else pcm
        whole = len(buf) - len(buf) % FRAME_BYTES
        self._rest = buf[whole:]
        if not whole:
            return False
        samples = np.frombuffer(buf, dtype="<i2", count=whole // 2).astype(np.float32)
        n = FRAME_BYTES // 2
        floor = (self.cfg.floor_rms * 32768) ** 2 * n  # on the sum of squares: no sqrt, no mean
        view = memoryview(buf)
        voiced = False
        frames = whole // FRAME_BYTES
        for i in range(frames):
            # Every frame goes through the VAD: its decision depends on the frames before.
            if not self.vad.is_speech(view[i * FRAME_BYTES:(i + 1) * FRAME_BYTES], RATE):
                continue
            frame = samples[i * n:(i + 1) * n]
            if float(frame.dot(frame)) >= floor:
                if not voiced:
                    self._chunk_first_s = (self._frames + i) * FRAME_S
                voiced = True
                self._last_voiced_s = (self._frames + i + 1) * FRAME_S
        self._frames += frames
        return voiced


def gate_config(settings: BridgeSettings) -> GateConfig:
    return GateConfig(prefix_ms=settings.vad_prefix_ms, onset_ms=settings.vad_onset_ms,
                      silence_ms=settings.vad_silence_ms, tail_ms=settings.vad_tail_ms,
                      floor_rms=settings.vad_floor_rms)
