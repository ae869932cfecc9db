"""The events a client frame carries, once parsed (see wire.py), and the setup they follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livebus.models import ModelCapabilities, capabilities
from livebus_emulator import usage

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class VadConfig:
    disabled: bool = False
    start_sensitivity: str = "START_SENSITIVITY_HIGH"
    end_sensitivity: str = "END_SENSITIVITY_HIGH"
    prefix_padding_ms: int = 20
    silence_duration_ms: int = 500


@dataclass
class Setup:
    raw: JsonObject
    model: str
    response_modalities: list[str]
    system_text: str
    functions: list[str]
    vad: VadConfig
    interrupts: bool  # activityHandling != NO_INTERRUPTION
    resumption: bool
    handle: str | None
    compression: bool
    trigger_tokens: int | None
    target_tokens: int | None
    input_transcription: bool
    output_transcription: bool
    # 2026 fields.
    turn_coverage: str = "TURN_INCLUDES_ONLY_ACTIVITY"
    initial_history: bool = False  # historyConfig.initialHistoryInClientContent
    non_blocking: frozenset[str] = frozenset()  # functions declared behavior: NON_BLOCKING
    caps: ModelCapabilities = field(default_factory=lambda: capabilities(""))
    transcription: JsonObject = field(default_factory=dict)  # inputAudioTranscription as sent

    @property
    def audio_out(self) -> bool:
        return "TEXT" not in self.response_modalities

    @property
    def image_tokens(self) -> int:
        """What one image costs at this session's generationConfig.mediaResolution."""
        gen = self.raw.get("generationConfig", self.raw.get("generation_config")) or {}
        resolution = gen.get("mediaResolution", gen.get("media_resolution")) if isinstance(
            gen, dict) else None
        return usage.image_tokens(resolution if isinstance(resolution, str) else None,
                                  self.caps.gemini3)


@dataclass(frozen=True)
class Audio:
    pcm: bytes
    rate: int


@dataclass(frozen=True)
class Video:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ActivityStart:
    pass


@dataclass(frozen=True)
class ActivityEnd:
    pass


@dataclass(frozen=True)
class AudioStreamEnd:
    pass


@dataclass
class ClientContent:
    turns: list[JsonObject]
    turn_complete: bool


@dataclass
class ToolResponse:
    responses: list[JsonObject] = field(default_factory=list)


@dataclass
class ContextUpdate:
    raw: JsonObject


Event = (Setup | Audio | Video | Text | ActivityStart | ActivityEnd | AudioStreamEnd
         | ClientContent | ToolResponse | ContextUpdate)
