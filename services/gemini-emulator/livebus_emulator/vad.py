"""Energy voice activity detection, clocked by the audio itself (samples received).

Measuring in audio time, not wall time, makes turn detection deterministic in tests: the same
samples always give the same speech segments, however fast they arrive.

Parameters follow Gemini's AutomaticActivityDetection:
- prefix_padding_ms: how long speech must last before start-of-speech is committed;
- silence_duration_ms: how long non-speech must last before end-of-speech is committed;
- start sensitivity HIGH/LOW: the level a 10 ms frame needs to count as speech
  (HIGH = lower threshold, so quieter speech starts a turn);
- end sensitivity HIGH/LOW: the level below which a frame counts as silence
  (HIGH = higher threshold, so the turn ends more readily; LOW rides through quiet syllables).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livebus_emulator.events import VadConfig

FRAME_S = 0.01
# RMS thresholds relative to full scale (1.0 = 0 dBFS).
START_THRESHOLD = {"START_SENSITIVITY_HIGH": 0.012, "START_SENSITIVITY_LOW": 0.035}
END_THRESHOLD = {"END_SENSITIVITY_HIGH": 0.010, "END_SENSITIVITY_LOW": 0.004}


@dataclass(frozen=True)
class SpeechStarted:
    at_s: float  # audio time of the first speech frame


@dataclass(frozen=True)
class SpeechEnded:
    start_s: float
    end_s: float  # audio time just after the last speech frame

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


VadEvent = SpeechStarted | SpeechEnded


class EnergyVad:
    def __init__(self, config: VadConfig, rate: int = 16000) -> None:
        self.rate = rate
        self.frame = max(1, round(rate * FRAME_S))
        self.start_threshold = START_THRESHOLD.get(config.start_sensitivity, 0.012)
        self.end_threshold = min(self.start_threshold,
                                 END_THRESHOLD.get(config.end_sensitivity, 0.010))
        self.start_frames = max(1, round(config.prefix_padding_ms / 1000 / FRAME_S))
        self.end_frames = max(1, round(config.silence_duration_ms / 1000 / FRAME_S))
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames = 0  # frames consumed = audio time / FRAME_S
        self._run = 0  # consecutive loud frames while idle
        self._in_speech = False
        self._start = 0  # frame index where speech started
        self._last_voiced = 0  # frame index after the last voiced frame
        self._quiet = 0  # consecutive silent frames while in speech

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def audio_s(self) -> float:
        return self._frames * FRAME_S + len(self._pending) / self.rate

    def feed(self, pcm: bytes) -> list[VadEvent]:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        buf = np.concatenate((self._pending, samples)) if len(self._pending) else samples
        whole = len(buf) // self.frame * self.frame
        self._pending = buf[whole:].copy()
        if whole == 0:
            return []
        frames = buf[:whole].reshape(-1, self.frame)
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        events: list[VadEvent] = []
        for level in rms.tolist():
            event = self._step(level)
            if event is not None:
                events.append(event)
        return events

    def _step(self, level: float) -> VadEvent | None:
        index = self._frames
        self._frames += 1
        if not self._in_speech:
            self._run = self._run + 1 if level >= self.start_threshold else 0
            if self._run >= self.start_frames:
                self._in_speech = True
                self._start = index + 1 - self._run
                self._last_voiced = index + 1
                self._quiet = 0
                self._run = 0
                return SpeechStarted(round(self._start * FRAME_S, 3))
            return None
        if level < self.end_threshold:
            self._quiet += 1
            if self._quiet >= self.end_frames:
                return self._end()
        else:
            self._quiet = 0
            self._last_voiced = index + 1
        return None

    def _end(self) -> SpeechEnded:
        self._in_speech = False
        self._quiet = 0
        self._run = 0
        return SpeechEnded(round(self._start * FRAME_S, 3), round(self._last_voiced * FRAME_S, 3))

    def flush(self) -> SpeechEnded | None:
        """End of the audio stream: end a pending speech segment now."""
        self._run = 0
        return self._end() if self._in_speech else None


SILENT_RMS = 0.001  # a 10 ms frame below this is silence (what a disabled track sends)


def silent_seconds(pcm: bytes, rate: int) -> float:
    """Seconds of 10 ms frames of PCM16 `pcm` quieter than SILENT_RMS (a partial last frame
    counts by its own level): how much of an activity was silence, not speech."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    frame = max(1, round(rate * FRAME_S))
    silent = 0
    for start in range(0, len(samples), frame):
        chunk = samples[start:start + frame]
        if float(np.sqrt(np.mean(chunk * chunk))) < SILENT_RMS:
            silent += len(chunk)
    return silent / rate
