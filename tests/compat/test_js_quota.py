"""The quota warning reaches the stock @google/genai JS SDK: its live client hands the raw
server message to onmessage (unknown top-level fields kept), so `livebusQuota` is readable and
the session carries on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livebus import usage
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import running_stack

from .node import run_script

LIMIT = 1000
WARN = 0.3
ENV = {"LIVEBUS_BRIDGE_QUOTA_TOKENS_PER_DAY": str(LIMIT),
       "LIVEBUS_BRIDGE_QUOTA_WARN_RATIO": str(WARN),
       "LIVEBUS_BRIDGE_QUOTA_CHECK_INTERVAL_S": "0.25",
       "LIVEBUS_BRIDGE_USAGE_FLUSH_INTERVAL_S": "0.25"}


@pytest.fixture(scope="module")
def quota_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("jsquota")), extra_env=ENV) as s:
        yield s


async def test_the_js_sdk_reads_the_quota_warning_and_goes_on(quota_stack: Stack) -> None:
    run = (await run_script(quota_stack, "quota.mjs")).ok()
    warning = run.one("warning")
    assert warning["keys"] == ["serverContent", "livebusQuota"]
    assert warning["serverContent"] == {}
    quota = warning["quota"]
    assert quota["warning"] == "tokens per day nearly used" and quota["limit"] == "tokens per day"
    assert WARN * LIMIT <= quota["used"] < LIMIT and quota["allowed"] == LIMIT
    assert quota["day"] == usage.day_of(time.time())
    turn = run.one("turn")
    assert turn["turnComplete"] and turn["outputText"] == "" and turn["audioBytes"] > 0
    # The client's own close (the SDK sends none, so 1005), not the quota's 1008.
    assert run.one("closed")["code"] == 1005
