"""Legacy client shapes, sent in the form the session's model accepts (livebus.models)."""

from __future__ import annotations

from bridge_fakes import FakeSocket
from google import genai
from google.genai import types
from google.genai.live import AsyncSession

from livebus import models
from livebus_bridge import metrics, translate
from livebus_bridge.sdkws import Upstream
from livebus_bridge.translate import Translator

LEGACY = "models/gemini-live-2.5-flash-preview"


def upstream(seeding: bool) -> tuple[Upstream, FakeSocket]:
    sock = FakeSocket()
    live = AsyncSession(api_client=genai.Client(api_key="k")._api_client,
                        websocket=sock)  # type: ignore[arg-type]
    return Upstream(live, seeding=seeding), sock


def content(*turns: tuple[str, str], complete: bool = True) -> types.LiveClientContent:
    return types.LiveClientContent(turns=[types.Content(role=r, parts=[types.Part(text=t)])
                                          for r, t in turns], turn_complete=complete)


def translations(kind: str) -> float:
    return metrics.TRANSLATIONS.labels(kind)._value.get()  # type: ignore[no-any-return]


def test_strict_models_get_history_config_legacy_ones_nothing() -> None:
    cfg = types.LiveConnectConfig()
    strict = translate.setup_config(cfg, models.STRICTEST)
    assert strict.history_config == types.HistoryConfig(initial_history_in_client_content=True)
    assert translate.setup_config(cfg, LEGACY) is cfg
    assert translate.setup_config(cfg, "models/gemini-3.8-live") is cfg
    own = cfg.model_copy(update={"history_config": types.HistoryConfig()})
    assert translate.setup_config(own, models.STRICTEST) is own


async def test_legacy_model_gets_client_content_as_it_is() -> None:
    up, sock = upstream(seeding=False)
    await Translator(LEGACY).client_content(up, content(("user", "hi")))
    assert sock.kinds() == ["client_content"]


async def test_first_content_is_history_then_the_question_as_realtime_text() -> None:
    up, sock = upstream(seeding=True)
    t = Translator(models.STRICTEST)
    before = translations(translate.TEXT)
    await t.client_content(up, content(("user", "earlier"), ("model", "ok"), complete=False))
    await t.client_content(up, content(("user", "before"), ("model", "sure"), ("user", "now?")))
    assert sock.kinds() == ["client_content", "client_content", "realtime_input.text"]
    assert sock.sent[1]["client_content"]["turnComplete"] is True
    assert len(sock.sent[1]["client_content"]["turns"]) == 2
    assert sock.sent[2]["realtime_input"]["text"] == "now?"
    assert not up.seeding and translations(translate.TEXT) == before + 1


async def test_mid_session_content_is_realtime_input_images_first() -> None:
    up, sock = upstream(seeding=False)
    t = Translator(models.STRICTEST)
    image = types.Part(inline_data=types.Blob(data=b"\xff\xd8jpeg", mime_type="image/jpeg"))
    await t.client_content(up, types.LiveClientContent(turns=[
        types.Content(role="user", parts=[types.Part(text="what is"), image])],
        turn_complete=False))
    assert sock.sent == []  # it waits for the turn that completes it
    dropped = translations(translate.MODEL_TURN_DROPPED)
    await t.client_content(up, content(("model", "x"), ("user", "this?")))
    assert sock.kinds() == ["realtime_input.video", "realtime_input.text"]
    assert sock.sent[1]["realtime_input"]["text"] == "what is\nthis?"
    assert translations(translate.MODEL_TURN_DROPPED) == dropped + 1


async def test_gemini_38_takes_mid_session_content() -> None:
    up, sock = upstream(seeding=False)
    await Translator("models/gemini-3.8-live").client_content(up, content(("user", "hi")))
    assert sock.kinds() == ["client_content"]


def test_scheduling_moves_beside_the_response_on_gemini_3() -> None:
    r = types.FunctionResponse(id="1", name="f",
                               response={"output": "done", "scheduling": "WHEN_IDLE"})
    (moved,) = Translator(models.STRICTEST).tool_responses([r])
    assert moved.response == {"output": "done"}
    assert moved.scheduling == types.FunctionResponseScheduling.WHEN_IDLE
    (bogus,) = Translator("models/gemini-3.8-live").tool_responses([types.FunctionResponse(
        id="2", name="f", response={"scheduling": "SOMETIME"})])
    assert bogus.response == {} and bogus.scheduling is None
    assert Translator(LEGACY).tool_responses([r]) == [r]


async def test_frames_end_the_history_phase() -> None:
    up, sock = upstream(seeding=True)
    await up.send_frame('{"realtime_input":{"audio":{"data":"AAA=","mime_type":"audio/pcm"}}}')
    await Translator(models.STRICTEST).client_content(up, content(("user", "hi")))
    assert sock.kinds() == ["realtime_input.audio", "realtime_input.text"]
