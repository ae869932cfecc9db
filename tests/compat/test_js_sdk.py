"""The stock @google/genai JS SDK (pinned) against a real stack, by base URL alone.

Each case is a Node script in this folder printing JSON lines; the assertions are on what the SDK
delivered to its callbacks, and on what the emulator received (its control API).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from livebus_dev.devstack import Stack
from livebus_dev.testing.audio import silence, speech_like
from livebus_dev.testing.emulator import sessions

from .node import HERE, SDK, Run, pinned_version, run_script

SPEECH_S = 1.2


def first_key(order: list[list[Any]]) -> str:
    return str(order[0][0])


def assert_setup_complete_first(run: Run) -> None:
    for e in run.events:
        if "order" in e:
            assert first_key(e["order"]) == "setupComplete", f"{e['ev']}: {e['order']}"


async def latest_upstream(stack: Stack) -> dict[str, Any]:
    """What the emulator recorded for the newest upstream connection (the cases run in turn)."""
    return (await sessions(stack))[-1]


def jpeg_frames(tmp: Path, n: int) -> list[str]:
    paths = []
    y, x = np.mgrid[0:480, 0:640]
    for i in range(n):
        img = np.stack([(x + 8 * i) % 256, y * 255 // 480, (x + y) % 256], axis=-1)
        ok, buf = cv2.imencode(".jpg", img.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        path = tmp / f"frame{i}.jpg"
        path.write_bytes(buf.tobytes())
        paths.append(str(path))
    return paths


def test_the_sdk_is_pinned_exactly_and_runs_on_this_node(js_sdk: str) -> None:
    lock = json.loads((HERE / "package-lock.json").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned_version()), "an exact version, no range"
    assert lock["packages"][f"node_modules/{SDK}"]["version"] == pinned_version() == js_sdk
    engines = json.loads((HERE / "node_modules" / SDK / "package.json").read_text())["engines"]
    wanted = int(re.search(r"\d+", engines["node"]).group())  # type: ignore[union-attr]
    node = shutil.which("node")
    assert node is not None
    have = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(have.strip().lstrip("v").split(".")[0]) >= wanted, (have, engines)


async def test_text_turn(stack: Stack) -> None:
    run = (await run_script(stack, "text.mjs")).ok()
    assert run.one("setupComplete")["sessionId"], "setupComplete.sessionId reaches the JS SDK"
    turn = run.one("turn")
    assert turn["turnComplete"]
    assert turn["outputText"] == "You wrote: hello from the js sdk"
    assert turn["audioBytes"] > 24000 and turn["audioBytes"] % 2 == 0, "24 kHz PCM16 audio"
    assert turn["usage"]["promptTokenCount"] > 0
    assert_setup_complete_first(run)


async def test_realtime_speech(stack: Stack, tmp_path: Path) -> None:
    pcm = tmp_path / "speech.pcm"
    pcm.write_bytes(speech_like(SPEECH_S) + silence(0.8))
    run = (await run_script(stack, "speech.mjs", str(pcm))).ok()
    assert run.one("sent")["bytes"] == pcm.stat().st_size
    turn = run.one("turn")
    heard = re.fullmatch(r"I heard (\d+\.\d) seconds of speech\.", turn["outputText"])
    assert heard, turn["outputText"]
    assert abs(float(heard.group(1)) - SPEECH_S) <= 0.2
    assert turn["inputText"], "input transcription reached the SDK"
    assert turn["audioBytes"] > 0 and turn["turnComplete"]
    record = await latest_upstream(stack)
    # Local turn detection (the default): the speech and its 200 ms tail went upstream, not the
    # rest of the silence.
    assert abs(record["audio_seconds"] - (SPEECH_S + 0.2)) < 0.05, "the speech went upstream"
    assert_setup_complete_first(run)


async def test_ephemeral_token_then_refused_on_reuse(stack: Stack) -> None:
    run = (await run_script(stack, "token.mjs")).ok()
    assert run.one("minted")["prefix"] == "auth_tokens/"
    turn = run.one("turn")
    assert turn["turnComplete"] and turn["outputText"] == "You wrote: hello with a token"
    refused = run.one("refused")
    assert (refused["code"], refused["reason"]) == (1008, "token has already been used")
    assert "reused" not in run.by_name


async def test_a_constrained_token_locks_the_setup(stack: Stack) -> None:
    """liveConnectConstraints + lockAdditionalFields: [] (the JS SDK's bidiGenerateContentSetup
    and fieldMask): the token's systemInstruction wins over the client's."""
    run = (await run_script(stack, "constrained.mjs")).ok()
    assert run.one("minted")["prefix"] == "auth_tokens/"
    assert "refused" not in run.by_name
    assert run.one("turn")["outputText"] == "You wrote: hello locked"
    setup = (await latest_upstream(stack))["setup"]
    assert setup["systemInstruction"]["parts"] == [{"text": "be brief"}]


def leaves(value: Any, path: str = "") -> dict[str, str]:
    """Leaf values by path, names without case or underscores (both spellings are the same
    field), numbers as floats (an int64 is a string in proto JSON: "25600" is 25600)."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(leaves(v, f"{path}.{k.replace('_', '').lower()}"))
        return out or {path: "{}"}
    if isinstance(value, list):
        found: dict[str, str] = {}
        for i, v in enumerate(value):
            found.update(leaves(v, f"{path}[{i}]"))
        return found
    if isinstance(value, bool):
        return {path: str(value).lower()}
    try:
        return {path: repr(float(value))}  # 40, 40.0 and "40" are the same number in proto JSON
    except (TypeError, ValueError):
        return {path: str(value)}


async def test_every_setup_field_the_js_sdk_sends_is_accepted_and_forwarded(stack: Stack) -> None:
    """Every LiveConnectConfig field @google/genai serialises for the Developer API, all at once."""
    run = (await run_script(stack, "fullsetup.mjs")).ok()
    if "refused" in run.by_name:
        fields = (await run_script(stack, "fullsetup.mjs", "--fields")).one("fields")["fields"]
        refused = {}
        for name in fields:
            one = (await run_script(stack, "fullsetup.mjs", name)).ok()
            if "refused" in one.by_name:
                refused[name] = one.one("refused")
        raise AssertionError(f"the gateway refused JS SDK setup fields: {refused}")
    sent = leaves(run.one("wire")["setup"])
    got = leaves((await latest_upstream(stack))["setup"])
    # Local turn detection (the default) detects the turns at the bridge with the client's
    # automaticActivityDetection parameters and turns the upstream's detection off instead.
    aad = ".realtimeinputconfig.automaticactivitydetection."
    assert {p: v for p, v in got.items() if p.startswith(aad)} == {aad + "disabled": "true"}
    lost = {p: v for p, v in sent.items() if got.get(p) != v and not p.startswith(aad)}
    assert not lost, f"sent by the SDK, not received upstream as sent: {lost}"


async def test_video_frames(stack: Stack, tmp_path: Path) -> None:
    frames = jpeg_frames(tmp_path, 10)
    run = (await run_script(stack, "video.mjs", *frames)).ok()
    assert run.one("sent")["frames"] == 10
    text = run.one("turn")["outputText"]
    saw = re.fullmatch(r"You wrote: what do you see\?\. I also saw (\d+) frames?, "
                       r"(the last )?512 by 384\.", text)
    assert saw, text
    record = await latest_upstream(stack)
    assert 1 <= record["frame_count"] <= 10
    assert int(saw.group(1)) == record["frame_count"], "the reply counts what went upstream"
    assert_setup_complete_first(run)


async def test_resumption_after_a_drop_keeps_the_context(stack: Stack) -> None:
    run = (await run_script(stack, "resume.mjs")).ok()
    first, fresh, resumed = run.one("first")["turn"], run.one("fresh")["turn"], \
        run.one("resumed")["turn"]
    assert first["handle"].startswith("livebus-h1."), "a livebus handle reached the JS SDK"
    assert run.one("dropped")["code"] == 1006, "the socket went without a close frame"
    ids = [e["sessionId"] for e in run.by_name["setupComplete"]]
    assert ids[0] == ids[2] != ids[1], "the resumed connection is the same session"
    assert resumed["outputText"] == fresh["outputText"] == "You wrote: what did I say?"
    # The model's prompt holds the first exchange: more than a fresh session's same question.
    assert resumed["usage"]["promptTokenCount"] >= (
        first["usage"]["totalTokenCount"] + fresh["usage"]["promptTokenCount"])
    assert resumed["handle"], "a new handle after the resumed turn"
    last = await latest_upstream(stack)
    assert "red kite" in str(last["history"]) + str(last["restored_history"])
    for name in ("first", "resumed"):  # issue 14: nothing may reach a client before setupComplete
        order = run.one(name)["order"]
        assert first_key(order) == "setupComplete", f"{name} connection received {order}"


async def test_client_tool_call(stack: Stack) -> None:
    run = (await run_script(stack, "tool.mjs")).ok()
    call = run.one("toolCall")
    assert not call["turnComplete"]
    [fc] = call["calls"]
    assert (fc["name"], fc["args"]) == ("get_weather", {"city": "Lisbon"}) and fc["id"]
    turn = run.one("turn")
    assert turn["turnComplete"] and not turn["interrupted"]
    assert turn["outputText"] == (
        'The tool get_weather returned {"city": "Lisbon", "forecast": "sunny, 24 C"}.')
    record = await latest_upstream(stack)
    assert [r["id"] for r in record["tool_responses"]] == [fc["id"]]
    assert_setup_complete_first(run)


async def test_the_query_string_key_stays_out_of_the_logs(stack: Stack) -> None:
    """The JS SDK puts the key in the URL (`?key=`); no log line may repeat it."""
    (await run_script(stack, "text.mjs")).ok()
    logs = sorted((stack.cfg.dir / "logs").glob("*.log"))
    assert logs
    for path in logs:
        assert stack.api_key not in path.read_text(errors="replace"), path.name
