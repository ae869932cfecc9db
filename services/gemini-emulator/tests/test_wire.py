"""wire.py, 2026 parts: setup fields, and the shapes the Gemini 3 mode refuses."""

from __future__ import annotations

from typing import Any

import pytest

from livebus import models
from livebus_emulator.events import Audio, ToolResponse
from livebus_emulator.wire import (
    NO_MEDIA_CHUNKS,
    WireError,
    declared_functions,
    parse_event,
    parse_setup,
)

CHUNKS = {"realtimeInput": {"mediaChunks": [{"data": "AAAAAA==", "mimeType": "audio/pcm"}]}}
MISPLACED = {"toolResponse": {"functionResponses": [
    {"id": "1", "name": "f", "response": {"scheduling": "SILENT"}}]}}


def test_new_setup_fields_in_either_spelling() -> None:
    setup = parse_setup({"setup": {
        "model": "models/gemini-3.8-live",
        "history_config": {"initial_history_in_client_content": True},
        "realtimeInputConfig": {"turn_coverage": "TURN_INCLUDES_ALL_INPUT",
                                "activityHandling": "NO_INTERRUPTION"},
        "tools": [{"functionDeclarations": [{"name": "a", "behavior": "NON_BLOCKING"},
                                            {"name": "b"}]}]}})
    assert setup.initial_history and not setup.interrupts
    assert setup.turn_coverage == "TURN_INCLUDES_ALL_INPUT"
    assert setup.functions == ["a", "b"] and setup.non_blocking == {"a"}
    assert setup.caps is models.capabilities("models/gemini-3.8-live")


def test_defaults() -> None:
    setup = parse_setup({"setup": {"model": "models/gemini-live-2.5-flash-preview",
                                   "realtimeInputConfig": {
                                       "turnCoverage": "TURN_COVERAGE_UNSPECIFIED"}}})
    assert setup.turn_coverage == "TURN_INCLUDES_ONLY_ACTIVITY"
    assert not setup.initial_history and setup.non_blocking == frozenset()


def test_declared_functions_takes_a_single_tool() -> None:
    assert declared_functions({"functionDeclarations": [{"name": "x"}]}, "t") == (["x"], [])
    with pytest.raises(WireError):
        declared_functions("nope", "t")


@pytest.mark.parametrize("model", models.known_models())
def test_each_model_gets_the_shapes_its_entry_names(model: str) -> None:
    caps = models.capabilities(model)
    cases: list[tuple[dict[str, Any], bool, type]] = [
        (CHUNKS, caps.media_chunks, Audio), (MISPLACED, caps.scheduling_in_response, ToolResponse)]
    for message, accepted, kind in cases:
        if accepted:
            assert isinstance(parse_event(message, caps)[0], kind)
        else:
            with pytest.raises(WireError):
                parse_event(message, caps)
        assert isinstance(parse_event(message)[0], kind)  # without a model: accepted


def test_media_chunks_reason() -> None:
    with pytest.raises(WireError) as caught:
        parse_event(CHUNKS, models.capabilities(models.STRICTEST))
    assert caught.value.reason == NO_MEDIA_CHUNKS
