"""The model's function calls, answered by the tools service through the bridge."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from converse import read_turn
from google.genai import types
from google.genai.live import AsyncSession

from livebus_dev.devstack import Stack
from livebus_dev.testing.emulator import control
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TEXT_ONLY = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO],
                                    output_audio_transcription=types.AudioTranscriptionConfig())


@pytest.fixture(scope="module")
def cancel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cancel") / "cancelled"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, cancel_file: Path) -> Iterator[Stack]:
    env = {"LIVEBUS_TOOLS_MODULES": "livebus_test_tools", "PYTHONPATH": str(FIXTURES),
           "LIVEBUS_TEST_CANCEL_FILE": str(cancel_file)}
    with running_stack(tmp_path_factory.mktemp("tools"), extra_env=env, emulator_pace=4.0) as s:
        yield s


async def say(session: AsyncSession, text: str) -> None:
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True)


async def last_tool_responses(stack: Stack) -> list[dict[str, object]]:
    async with control(stack) as c:
        conns = (await c.get("/control/connections")).json()["connections"]
        detail = (await c.get(f"/control/connections/{conns[-1]['id']}")).json()
    return list(detail["tool_responses"])


async def test_inventory_lookup_answered_server_side(stack: Stack) -> None:
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=TEXT_ONLY) as session:
        await say(session, 'inventory_lookup {"query": "608ZZ"}')
        turn = await asyncio.wait_for(read_turn(session), 20)
    assert not any(m.tool_call for m in turn.messages), "the client never sees server tool calls"
    assert "BRG-608-ZZ" in turn.output_text and "A-02" in turn.output_text


async def test_client_tool_and_mixed_call(stack: Stack) -> None:
    own = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="open_door", description="Open the workshop door",
        parameters_json_schema={"type": "object", "properties": {}})])
    config = TEXT_ONLY.model_copy(update={"tools": [own]})
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=config) as session:
        await say(session, 'open_door and get_current_time {"timezone": "Europe/Paris"}')
        calls: list[types.FunctionCall] = []
        async for msg in session.receive():
            if msg.tool_call:
                calls += msg.tool_call.function_calls or []
                break
        assert [c.name for c in calls] == ["open_door"], "only the client's own tool reaches it"
        await session.send_tool_response(function_responses=[types.FunctionResponse(
            id=calls[0].id, name="open_door", response={"output": "door is open"})])
        turn = await asyncio.wait_for(read_turn(session), 20)
    assert "door is open" in turn.output_text
    assert "Europe/Paris" in turn.output_text, "the server tool's result reached the model too"


@pytest.mark.parametrize(("request_text", "code"), [
    ("hanging_tool", "timeout"),
    ("raising_tool", "handler_error"),
    ('inventory_lookup {"limit": "many"}', "invalid_args"),
])
async def test_failing_tools_answer_the_model_with_an_error(stack: Stack, request_text: str,
                                                            code: str) -> None:
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=TEXT_ONLY) as session:
        await say(session, request_text)
        turn = await asyncio.wait_for(read_turn(session), 10)
        responses = await last_tool_responses(stack)
        assert code in json.dumps(responses), responses
        assert turn.turn_complete
        await say(session, "still there?")
        assert "still there?" in (await asyncio.wait_for(read_turn(session), 10)).output_text


async def test_barge_in_cancels_a_slow_tool(stack: Stack, cancel_file: Path) -> None:
    from converse import speak
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=TEXT_ONLY) as session:
        await say(session, 'slow_tool {"seconds": 10}')
        await asyncio.sleep(0.5)
        await speak(session, 0.6)  # the user talks over the pending call
        for _ in range(50):
            if cancel_file.exists():
                break
            await asyncio.sleep(0.1)
    assert cancel_file.read_text() == "cancelled", "the handler saw the cancellation"
