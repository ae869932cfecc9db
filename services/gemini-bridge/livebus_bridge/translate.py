"""Client shapes a model refuses, sent in the form it accepts (the table in livebus.models).

- `clientContent` on a model without mid-session client content: before any realtime input on
  a fresh connection it is initial history (the setup asks for `historyConfig` on such models);
  a completed user turn at that point, or any content later, goes as realtime input: its images
  as `realtimeInput.video`, its text as one `realtimeInput.text`. A turn sent with
  `turnComplete: false` waits for the turn that completes it. Model turns cannot be told to such
  a model mid-session and are dropped (counted).
- `scheduling` inside a function response's `response` (pipecat) moves to the response's own
  field, on every model that reads only that one.
- `realtimeInput.mediaChunks` never reaches the bridge: the gateway splits it into audio and
  video, and the bridge sends only `audio` / `video`.
"""

from __future__ import annotations

from google.genai import types
from google.genai.live import AsyncSession

from livebus import models

from . import metrics
from .sdkws import Upstream

# metric kinds
TEXT = "client_content_text"
IMAGE = "client_content_image"
MODEL_TURN_DROPPED = "client_content_model_turn_dropped"
HISTORY_CONFIG = "history_config"  # per upstream setup sent with it
SCHEDULING = "scheduling_in_response"
MAX_PENDING_TURNS = 64  # incomplete user turns held for their turnComplete, at most


def count(kind: str, n: int = 1) -> None:
    metrics.TRANSLATIONS.labels(kind).inc(n)


def setup_config(config: types.LiveConnectConfig, model: str) -> types.LiveConnectConfig:
    """On a model that takes client content only as initial history, ask for that phase, so
    the first client content (and the bridge's own rebuilt history) is accepted."""
    if models.capabilities(model).mid_session_client_content or config.history_config:
        return config
    count(HISTORY_CONFIG)
    return config.model_copy(update={
        "history_config": types.HistoryConfig(initial_history_in_client_content=True)})


def _media_parts(turn: types.Content) -> tuple[list[types.Blob], str]:
    blobs = [p.inline_data for p in turn.parts or []
             if p.inline_data is not None and p.inline_data.data
             and (p.inline_data.mime_type or "").startswith("image/")]
    text = "\n".join(p.text for p in turn.parts or [] if p.text and not p.thought)
    return blobs, text


async def send_realtime(live: AsyncSession, turns: list[types.Content]) -> None:
    """User turns as realtime input: images first (what the text may be about), then the text."""
    blobs: list[types.Blob] = []
    texts: list[str] = []
    for turn in turns:
        if turn.role == "model":
            count(MODEL_TURN_DROPPED)
            continue
        images, text = _media_parts(turn)
        blobs += images
        if text:
            texts.append(text)
    for blob in blobs:
        await live.send_realtime_input(video=blob)
    count(IMAGE, len(blobs))
    if texts:
        await live.send_realtime_input(text="\n".join(texts))
        count(TEXT)


class Translator:
    """One session's translations; what a connection still accepts is kept on its Upstream."""

    def __init__(self, model: str) -> None:
        self.caps = models.capabilities(model)
        self.pending: list[types.Content] = []  # user turns waiting for turnComplete

    async def client_content(self, up: Upstream, cc: types.LiveClientContent) -> None:
        turns = list(cc.turns or [])
        complete = bool(cc.turn_complete)
        live = up.session
        if self.caps.mid_session_client_content:
            await live.send_client_content(turns=list[types.Content | types.ContentDict](turns),
                                           turn_complete=complete)
            return
        if up.seeding and not complete:
            await live.send_client_content(turns=list[types.Content | types.ContentDict](turns),
                                           turn_complete=False)
            return
        if up.seeding:
            # History up to the last user turn, which is a question to answer now.
            last = len(turns) - 1 if turns and turns[-1].role != "model" else len(turns)
            if turns[:last]:
                await live.send_client_content(
                    turns=list[types.Content | types.ContentDict](turns[:last]),
                    turn_complete=True)
            turns = turns[last:]
        up.seeding = False
        self.pending += turns
        if complete or len(self.pending) > MAX_PENDING_TURNS:
            turns, self.pending = self.pending, []
            await send_realtime(live, turns)

    def tool_responses(self, responses: list[types.FunctionResponse]
                       ) -> list[types.FunctionResponse]:
        if self.caps.scheduling_in_response:
            return responses
        return [moved_scheduling(r) for r in responses]


def moved_scheduling(r: types.FunctionResponse) -> types.FunctionResponse:
    """`response.scheduling` as the FunctionResponse's own field (a value Google does not define
    is dropped: it was ignored where it stood)."""
    inner = r.response
    if not isinstance(inner, dict) or "scheduling" not in inner:
        return r
    rest = {k: v for k, v in inner.items() if k != "scheduling"}
    value = inner["scheduling"]
    update: dict[str, object] = {"response": rest}
    if r.scheduling is None and isinstance(value, str) and \
            value in types.FunctionResponseScheduling.__members__:
        update["scheduling"] = types.FunctionResponseScheduling(value)
    count(SCHEDULING)
    return r.model_copy(update=update)
