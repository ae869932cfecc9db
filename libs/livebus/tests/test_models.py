"""The model capability table: names, lookups, and the shapes each generation accepts."""

from __future__ import annotations

import dataclasses

import pytest

from livebus import models


def test_current_models_are_known_and_accept_legacy_shapes() -> None:
    for name in ("models/gemini-live-2.5-flash-preview",
                 "models/gemini-2.5-flash-native-audio-preview-09-2025",
                 "models/gemini-2.0-flash-live-001"):
        caps = models.capabilities(name)
        assert caps.name in models.known_models()
        assert caps.accepts_legacy_shapes
        assert not caps.interaction_status


def test_gemini3_models_refuse_media_chunks_and_misplaced_scheduling() -> None:
    for name in models.known_models():
        caps = models.capabilities(name)
        is3 = name.startswith("models/gemini-3")
        assert caps.media_chunks is not is3, name
        assert caps.scheduling_in_response is not is3, name
        assert caps.accepts_legacy_shapes is not is3, name


def test_gemini31_is_the_strictest() -> None:
    caps = models.capabilities(models.STRICTEST)
    assert caps.name == "models/gemini-3.1-flash-live-preview"
    assert not (caps.media_chunks or caps.mid_session_client_content
                or caps.scheduling_in_response or caps.non_blocking_functions
                or caps.text_output or caps.affective_proactive)


def test_gemini38_brings_back_client_content_and_adds_interaction_status() -> None:
    for name in ("models/gemini-3.8-live", "models/gemini-3.8-live-extended-thinking"):
        caps = models.capabilities(name)
        assert caps.mid_session_client_content and caps.non_blocking_functions
        assert caps.interaction_status and caps.text_output
        assert not caps.media_chunks


@pytest.mark.parametrize("spelling", [
    "gemini-3.8-live", "models/gemini-3.8-live",
    "projects/p/locations/us-central1/publishers/google/models/gemini-3.8-live"])
def test_any_spelling_of_a_name_finds_the_entry(spelling: str) -> None:
    assert models.canonical(spelling) == "models/gemini-3.8-live"
    assert models.capabilities(spelling) is models.MODELS["models/gemini-3.8-live"]


def test_unknown_names_get_a_profile_by_generation() -> None:
    future = models.capabilities("gemini-3.9-flash-live")
    assert future.name == "models/gemini-3.9-flash-live"
    assert future == dataclasses.replace(models.capabilities(models.STRICTEST), name=future.name)
    old = models.capabilities("models/some-live-model")
    assert old.accepts_legacy_shapes and old.name == "models/some-live-model"
