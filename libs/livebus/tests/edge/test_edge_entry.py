"""Opening a session, step by step: the refusals every edge gives alike."""

from __future__ import annotations

import asyncio

import pytest

from livebus import closecodes
from livebus.edge import entry, tokens
from livebus.edge.settings import EdgeSettings
from livebus.edge.state import EdgeState
from livebus.edge.wire import ProtocolError

SECRET = "s" * 32


class OneShot:
    """A transport whose client sends `frames`, then leaves."""

    def __init__(self, *frames: str) -> None:
        self.frames = list(frames)
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> str | bytes | None:
        return self.frames.pop(0) if self.frames else None

    async def send_text(self, text: str) -> None:
        raise AssertionError("nothing is sent before a session opens")

    async def send_audio(self, mime: str, pcm: bytes) -> None:
        raise AssertionError("nothing is sent before a session opens")

    def interrupted(self) -> None:
        raise AssertionError("no reply before a session opens")

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def state(**settings: object) -> EdgeState[EdgeSettings]:
    s = EdgeState.of(EdgeSettings(token_secret=SECRET, api_keys=["k" * 20], **settings))
    s.secret = SECRET
    return s


@pytest.mark.parametrize(("code", "status"), [
    (closecodes.POLICY, 401), (closecodes.TRY_AGAIN, 503), (closecodes.INVALID_ARGUMENT, 400),
    (closecodes.TOO_BIG, 413), (closecodes.INTERNAL, 500), (4999, 400)])
def test_a_refusal_has_an_http_status(code: int, status: int) -> None:
    assert entry.http_status(ProtocolError(code, "x")) == status


def test_a_bad_credential_is_refused_and_counted() -> None:
    st = state()
    rejected = st.metrics.connections_rejected.labels("auth")
    before = rejected._value.get()
    with pytest.raises(ProtocolError) as e:
        entry.credential(st, {"authorization": "Bearer nope"}, {})
    assert (e.value.code, e.value.reason) == (closecodes.POLICY, "API key not valid")
    assert entry.http_status(e.value) == 401 and rejected._value.get() == before + 1
    assert entry.credential(st, {"x-goog-api-key": "k" * 20}, {}).server_key


def test_admission_refuses_past_capacity_and_gives_the_slot_back() -> None:
    st = state(max_sessions=1)
    entry.admit(st, "u")
    with pytest.raises(ProtocolError) as e:
        entry.admit(st, "v")
    assert entry.http_status(e.value) == 503
    st.admission.release("u")
    entry.admit(st, "v")


async def test_serve_closes_with_the_setup_problem_and_without_a_setup_in_time() -> None:
    st = state(setup_timeout_s=0.05)
    token = tokens.mint(SECRET, {"uses": 1})["name"]
    bad = OneShot('{"setup": {}}')
    await entry.serve(st, bad, {"authorization": f"Token {token}"}, {})
    assert bad.closed == (closecodes.INVALID_ARGUMENT, "setup.model is required")

    class Silent(OneShot):
        async def receive(self) -> str | bytes | None:
            await asyncio.sleep(1)
            return None

    silent = Silent()
    await entry.serve(st, silent, {"authorization": f"Token {token}"}, {})
    assert silent.closed == (closecodes.INVALID_ARGUMENT, "no setup message")
    assert st.admission.total == 0


async def test_serve_refuses_a_bad_credential_before_reading_anything() -> None:
    client = OneShot('{"setup": {"model": "models/x"}}')
    await entry.serve(state(), client, {}, {})
    assert client.closed == (closecodes.POLICY, "missing API key or token")
    assert client.frames, "the setup was never read"
