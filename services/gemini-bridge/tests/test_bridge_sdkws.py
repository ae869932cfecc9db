"""The SDK adapter: what the fast path relies on exists, and it fails loudly when it does not."""

from __future__ import annotations

import pytest
from bridge_fakes import FakeSocket
from google import genai
from google.genai.live import AsyncSession

from livebus_bridge import sdkws


def test_the_installed_sdk_has_what_the_bridge_relies_on() -> None:
    sdkws.check()


def test_an_sdk_that_moved_its_socket_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    original = AsyncSession.__init__

    def moved(self: AsyncSession, api_client: object, websocket: object,
              *args: object, **kwargs: object) -> None:
        original(self, api_client, websocket, *args, **kwargs)  # type: ignore[arg-type]
        self._socket = self._ws  # type: ignore[attr-defined]
        del self._ws

    monkeypatch.setattr(AsyncSession, "__init__", moved)
    with pytest.raises(sdkws.SdkChanged):
        sdkws.check()


async def test_frames_go_to_and_come_from_the_sessions_socket() -> None:
    sock = FakeSocket()
    up = sdkws.Upstream(AsyncSession(api_client=genai.Client(api_key="k")._api_client,
                                     websocket=sock))  # type: ignore[arg-type]
    await up.send_frame('{"realtime_input":{"text":"hi"}}')
    assert sock.sent == [{"realtime_input": {"text": "hi"}}]
    sock.incoming.put_nowait(b'{"setupComplete":{}}')
    assert await up.recv() == b'{"setupComplete":{}}'
