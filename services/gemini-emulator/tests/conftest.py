"""Fixtures: a real emulator (uvicorn over TLS on a free port) per test, and SDK clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_testkit import MakeEmulator, sdk_client
from google import genai

from livebus_dev.devca import ensure_dev_certs
from livebus_emulator import EmulatorServer, EmulatorSettings


@pytest.fixture(scope="session")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("emulator-certs")
    ensure_dev_certs(directory)
    return directory


@pytest.fixture
def make_emulator(certs_dir: Path) -> Iterator[MakeEmulator]:
    servers: list[EmulatorServer] = []

    def make(**overrides: Any) -> EmulatorServer:
        values: dict[str, Any] = {"port": 0, "pace": 8.0, "certs_dir": str(certs_dir),
                                  "speech_synthesis": False}
        values.update(overrides)
        server = EmulatorServer(EmulatorSettings(**values)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(make_emulator: MakeEmulator) -> EmulatorServer:
    return make_emulator()


@pytest.fixture
def client(emulator: EmulatorServer) -> genai.Client:
    return sdk_client(emulator)
