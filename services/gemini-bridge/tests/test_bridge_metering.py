"""metering.py: usageMetadata counted by direction and modality, per day, into the store."""

from __future__ import annotations

from typing import Any

from google.genai import types

from livebus_bridge import metering
from livebus_bridge.metrics import SESSION_SECONDS, TOKENS


def message(**fields: Any) -> types.LiveServerMessage:
    return types.LiveServerMessage(usage_metadata=types.UsageMetadata(**fields))


def count(m: types.MediaModality, n: int) -> types.ModalityTokenCount:
    return types.ModalityTokenCount(modality=m, token_count=n)


M = types.MediaModality
FULL = message(prompt_token_count=300, response_token_count=64, cached_content_token_count=40,
               thoughts_token_count=7, total_token_count=371,
               prompt_tokens_details=[count(M.AUDIO, 20), count(M.IMAGE, 280)],
               response_tokens_details=[count(M.AUDIO, 64)],
               cache_tokens_details=[count(M.TEXT, 40)])


class FakeStore:
    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    async def put(self, record: dict[str, Any]) -> None:
        self.puts.append(record)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_every_count_by_direction_and_modality() -> None:
    assert FULL.usage_metadata is not None
    assert metering.tokens_of(FULL.usage_metadata) == {
        "prompt": {"audio": 20, "image": 280}, "response": {"audio": 64},
        "cached": {"text": 40}, "thoughts": {"text": 7}}
    # A count without details is kept (as "other"), not lost.
    bare = message(prompt_token_count=12, response_token_count=3).usage_metadata
    assert bare is not None
    assert metering.tokens_of(bare) == {"prompt": {"other": 12}, "response": {"other": 3}}


async def test_sum_of_messages_seconds_and_a_new_day() -> None:
    store = FakeStore()
    clock = Clock(1764633600.0 - 10)  # 2025-12-01 23:59:50 UTC
    meter = metering.SessionMeter(store, "ada", "sid", 9, "models/m", 2.0, clock)  # type: ignore[arg-type]
    before = TOKENS.labels("prompt", "image")._value.get()
    seconds_before = SESSION_SECONDS._value.get()
    meter.usage(FULL)
    meter.usage(types.LiveServerMessage(server_content=types.LiveServerContent()))  # no usage
    clock.t += 4
    meter.usage(FULL)
    await meter.flush()
    assert TOKENS.labels("prompt", "image")._value.get() - before == 560
    rec = store.puts[-1]
    assert (rec["user"], rec["session"], rec["epoch"], rec["day"]) == ("ada", "sid", 9,
                                                                       "2025-12-01")
    assert rec["messages"] == 2 and rec["seconds"] == 4.0
    assert rec["tokens"]["prompt"] == {"audio": 40, "image": 560}
    assert rec["totalTokens"] == 2 * (300 + 64 + 7)
    clock.t += 10  # past midnight: the old day's last totals, then the new day's
    meter.usage(FULL)
    await meter.flush()
    assert [r["day"] for r in store.puts[-2:]] == ["2025-12-01", "2025-12-02"]
    assert store.puts[-2]["seconds"] == 14.0 and store.puts[-2]["messages"] == 2
    assert store.puts[-1]["messages"] == 1 and store.puts[-1]["seconds"] == 0.0
    assert SESSION_SECONDS._value.get() - seconds_before == 14.0


async def test_a_room_goes_into_every_record_and_an_unsafe_one_into_none() -> None:
    store = FakeStore()
    meter = metering.SessionMeter(store, "ada", "sid", 1, "models/m", 2.0,  # type: ignore[arg-type]
                                  Clock(1764633600.0), room="standup-7")
    meter.usage(FULL)
    await meter.flush()
    assert store.puts[-1]["room"] == "standup-7"
    unsafe = metering.SessionMeter(store, "ada", "s2", 1, "models/m", 2.0,  # type: ignore[arg-type]
                                   Clock(1764633600.0), room="a.>")
    await unsafe.flush()
    assert "room" not in store.puts[-1] and store.puts[-1]["session"] == "s2"
