"""Fuzzed setups (hypothesis, bounded): only documented outcomes (issue 12, fuzzing).

Pure part: setups built from the allow-list's own names (both spellings), unknown names and
hostile values (NaN, huge numbers, deep nesting, wrong types), and raw bytes, through the
gateway's setup parser and validator: each either opens or raises ProtocolError with 1007, 1008
or 1009, never anything else. Whole-stack part: a few generated setups over real sockets get
only those close codes (or open), no traceback is logged, and a session on the same gateway
keeps talking meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic.alias_generators import to_snake

from livebus.edge import handshake, resumption, setupfields
from livebus.edge.tokens import Grant
from livebus.edge.wire import ProtocolError
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

from .gatewayclient import Live, attempt, open_live, turn_text

DOCUMENTED = {1007, 1008, 1009}
SECRET = "f" * 32
NAMES = sorted({n for fields in setupfields.MESSAGES.values() for f in fields
                for n in (f, to_snake(f))} | {"httpOptions", "http_options", "baseUrl"})
ENUM_VALUES = sorted({v for vs in setupfields.ENUMS.values() for v in vs})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(ENUM_VALUES), st.sampled_from(NAMES))
keys = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=30)
setups = st.fixed_dictionaries(
    {"model": st.one_of(st.just(MODEL), st.just("gemini-live-2.5-flash-preview"), values)},
    optional={"generationConfig": st.dictionaries(keys, values, max_size=5),
              "realtimeInputConfig": st.dictionaries(keys, values, max_size=3),
              "sessionResumption": st.one_of(values, st.just(
                  {"handle": resumption.mint(SECRET, "s", "other")})),
              "tools": values, "systemInstruction": values})
frames = st.one_of(
    setups.map(lambda s: json.dumps({"setup": s})),
    st.dictionaries(keys, values, max_size=6).map(
        lambda s: json.dumps({"setup": {"model": MODEL, **s}})),
    st.binary(max_size=200), st.text(max_size=200),
    st.integers(min_value=1, max_value=3000).map(lambda n: '{"setup": ' + "[" * n + "]" * n
                                                 + "}"))


def outcome(frame: str | bytes) -> int:
    """0 for a setup that opens, else the close code."""
    try:
        handshake.opening(frame, Grant(user="fuzz"), allowed_models=[MODEL], max_bytes=1 << 20,
                          secret=SECRET, resume_grace_s=60)
    except ProtocolError as e:
        return e.code
    return 0


@settings(max_examples=600, deadline=timedelta(seconds=2),
          suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_the_setup_validator_only_answers_documented_codes(frame: str | bytes) -> None:
    assert outcome(frame) in DOCUMENTED | {0}


async def _over_sockets(stack: Stack, batch: list[str]) -> list[Any]:
    ws, _ = await open_live(stack)
    async with ws:
        live = Live(ws)
        results = await asyncio.gather(*(attempt(stack, f, timeout=3) for f in batch))
        turn = await live.say("still talking")
    assert "still talking" in turn_text(turn).lower()
    return results


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frames.filter(lambda f: isinstance(f, str)), min_size=6, max_size=6))
def test_fuzzed_setups_over_sockets(stack: Stack, batch: list[str]) -> None:
    results = asyncio.run(_over_sockets(stack, batch))
    for frame, out in zip(batch, results, strict=True):
        if out.opened:
            assert outcome(frame) == 0, frame
            continue
        assert out.code in DOCUMENTED, (frame[:200], out.code, out.reason)
    log = (stack.cfg.dir / "logs" / "gateway-0.log").read_text()
    with contextlib.suppress(ValueError):
        log = log[log.index('"session open'):]
    assert "Traceback" not in log
