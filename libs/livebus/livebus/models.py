"""Per-model capabilities of the Gemini Live models livebus knows: which client shapes each accepts.

One table for everyone: the emulator behaves by it, the bridge translates by it, the gateway
takes its default allowed models from it. Sources: Google's model pages and changelog (2026),
the google-genai 3.4.0 types, and field reports (see docs/protocol.md).

- `media_chunks`: `realtimeInput.mediaChunks` (deprecated in 2025) is accepted. Gemini 3 models
  close with 1007; send `realtimeInput.audio` / `realtimeInput.video` instead.
- `mid_session_client_content`: `clientContent` is accepted at any time. Without it, content is
  accepted only as initial history (`setup.historyConfig.initialHistoryInClientContent: true`,
  before the first realtime input, up to `turnComplete: true`); later text goes as
  `realtimeInput.text`.
- `scheduling_in_response`: a function response may carry `scheduling` inside `response`
  (pipecat's shape). Google reads only the field beside `response`; the older models ignore the
  misplaced one, and the emulator's Gemini 3 mode refuses it (1007) so a test sees whether the
  bridge moved it.
- `non_blocking_functions`: `behavior: NON_BLOCKING` declarations run asynchronously (with
  `scheduling` in the response); otherwise every call blocks the turn.
- `text_output`: `responseModalities: ["TEXT"]` works (gemini-3.1-flash-live-preview: 1011).
- `affective_proactive`: the setup may carry `enableAffectiveDialog` / `proactivity`
  (gemini-3.1-flash-live-preview never answers such a setup).
- `interaction_status`: the model sends `serverContent.interactionStatus` with `turnComplete`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCapabilities:
    name: str  # "models/..."
    media_chunks: bool
    mid_session_client_content: bool
    scheduling_in_response: bool
    non_blocking_functions: bool
    text_output: bool
    affective_proactive: bool
    interaction_status: bool

    @property
    def gemini3(self) -> bool:
        """A Gemini 3 model (its media resolution defaults to high; see the emulator's usage)."""
        return self.name.startswith("models/gemini-3")

    @property
    def accepts_legacy_shapes(self) -> bool:
        """A 2024-style client works unchanged (no translation needed)."""
        return self.media_chunks and self.mid_session_client_content and self.scheduling_in_response


def _legacy(name: str) -> ModelCapabilities:
    return ModelCapabilities(name, media_chunks=True, mid_session_client_content=True,
                             scheduling_in_response=True, non_blocking_functions=True,
                             text_output=True, affective_proactive=True, interaction_status=False)


def _gemini3(name: str, *, mid_session_client_content: bool, non_blocking_functions: bool,
             text_output: bool, affective_proactive: bool,
             interaction_status: bool) -> ModelCapabilities:
    return ModelCapabilities(name, media_chunks=False,
                             mid_session_client_content=mid_session_client_content,
                             scheduling_in_response=False,
                             non_blocking_functions=non_blocking_functions,
                             text_output=text_output, affective_proactive=affective_proactive,
                             interaction_status=interaction_status)


# March 2026: the first Gemini 3 Live model, the strictest one.
_GEMINI_31 = dict(mid_session_client_content=False, non_blocking_functions=False,
                  text_output=False, affective_proactive=False, interaction_status=False)
# September 2026: full-session client content is back, interactionStatus is new.
_GEMINI_38 = dict(mid_session_client_content=True, non_blocking_functions=True,
                  text_output=True, affective_proactive=True, interaction_status=True)

MODELS: dict[str, ModelCapabilities] = {m.name: m for m in (
    _legacy("models/gemini-live-2.5-flash-preview"),
    _legacy("models/gemini-2.5-flash-native-audio-preview-09-2025"),
    _legacy("models/gemini-2.5-flash-native-audio-preview-12-2025"),
    _legacy("models/gemini-2.0-flash-live-001"),
    _gemini3("models/gemini-3.1-flash-live-preview", **_GEMINI_31),
    _gemini3("models/gemini-3.8-live", **_GEMINI_38),
    _gemini3("models/gemini-3.8-live-extended-thinking", **_GEMINI_38),
)}

# The model a 2024-style client must be translated for on every shape (tests use it).
STRICTEST = "models/gemini-3.1-flash-live-preview"


def canonical(model: str) -> str:
    """`models/NAME` from `NAME`, `models/NAME` or a Vertex `.../publishers/google/models/NAME`."""
    _, sep, tail = model.rpartition("models/")
    return "models/" + (tail if sep else model)


def known_models() -> list[str]:
    """Every model in the table (the gateway's default allow-list)."""
    return list(MODELS)


def capabilities(model: str) -> ModelCapabilities:
    """The table's entry. An unknown `gemini-3*` name gets the strictest profile: translating a
    shape it might refuse is always safe, as every model accepts the translated form."""
    name = canonical(model)
    known = MODELS.get(name)
    if known is not None:
        return known
    if name.startswith("models/gemini-3"):
        return _gemini3(name, **_GEMINI_31)
    return _legacy(name)
