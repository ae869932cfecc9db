"""Process-wide emulator state shared by the Live endpoint and the control API."""

from __future__ import annotations

import time

from livebus_emulator.handles import HandleStore
from livebus_emulator.records import Registry
from livebus_emulator.settings import EmulatorSettings
from livebus_emulator.speech import Speaker


class EmulatorState:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.registry = Registry(settings.keep_sessions)
        self.handles = HandleStore(settings.handle_ttl_s)
        self.speaker = Speaker(settings.speech_synthesis)
        self.started = time.time()
        # The next resume accepts its handle but restores nothing: the silent context loss
        # users of the real API report, for testing its detection.
        self.amnesia = False

    def take_amnesia(self) -> bool:
        amnesia, self.amnesia = self.amnesia, False
        return amnesia

    def reset(self) -> None:
        self.amnesia = False
        self.registry.reset()
        self.handles.clear()
