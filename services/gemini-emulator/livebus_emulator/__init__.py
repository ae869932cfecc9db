"""An offline, protocol-faithful Gemini Live API server (see README.md in this folder)."""

from livebus_emulator.app import create_app
from livebus_emulator.server import EmulatorServer
from livebus_emulator.settings import EmulatorSettings

__all__ = ["EmulatorServer", "EmulatorSettings", "create_app"]
