"""Fixtures: a real emulator (uvicorn over TLS on a free port) per test, and SDK clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai

from livebus.tls import ensure_dev_certs
from livebus_emulator import EmulatorServer, EmulatorSettings

MakeEmulator = Callable[..., EmulatorServer]


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


def sdk_client(emu: EmulatorServer, api_key: str = "k", trailing_slash: bool = False,
               api_version: str = "v1beta") -> genai.Client:
    return genai.Client(api_key=api_key, http_options={
        "base_url": emu.base_url + ("/" if trailing_slash else ""),
        "api_version": api_version,
        "async_client_args": {"ssl": emu.client_ssl()},
    })


@pytest.fixture
def client(emulator: EmulatorServer) -> genai.Client:
    return sdk_client(emulator)
