from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from livebus.runtime import cancel_and_wait, cpus, retry_setup


async def test_a_task_that_lost_its_cancellation_is_cancelled_again() -> None:
    # What asyncio.wait_for does on Python 3.11 when the cancellation races its result.
    cancels = 0

    async def loop() -> None:
        nonlocal cancels
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancels += 1
                if cancels == 1:
                    continue
                raise

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task, grace=0.05), 2)
    assert task.cancelled() and cancels == 2


async def test_cleanup_in_finally_is_not_interrupted_within_the_grace() -> None:
    cleaned = False

    async def work() -> None:
        nonlocal cleaned
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.2)
            cleaned = True

    task = asyncio.create_task(work())
    await asyncio.sleep(0)
    await cancel_and_wait(task, None, grace=1.0)
    assert cleaned


async def test_setup_is_tried_again_until_it_succeeds() -> None:
    calls = 0

    async def setup() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TimeoutError

    await retry_setup(setup, "thing", wait_s=5, every_s=0.01)
    assert calls == 3


async def test_setup_failing_past_the_wait_raises_its_error() -> None:
    async def setup() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        await retry_setup(setup, "thing", wait_s=0.05, every_s=0.01)


def test_a_service_runs_with_what_its_imports_made_frozen() -> None:
    # A full collection then scans only what the service made since; run() installs signal
    # handlers and its own loop, so it runs in a process of its own.
    code = ("import gc, json\n"
            "from livebus.runtime import run\n"
            "async def main(stop):\n"
            "    print(json.dumps([gc.get_freeze_count(), len(gc.get_objects())]))\n"
            "run(main)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    frozen, tracked = json.loads(out)
    assert frozen > 10_000 and tracked < frozen / 10


def test_cpus_are_the_affinity_capped_by_the_cgroup_quota(tmp_path: Path) -> None:
    mine = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("max 100000\n")
    assert cpus(quota) == mine
    quota.write_text("50000 100000\n")  # half a CPU: one thread
    assert cpus(quota) == 1
    quota.write_text(f"{(mine + 8) * 100000} 100000\n")  # more than the affinity allows
    assert cpus(quota) == mine
    assert cpus(tmp_path / "missing") == mine
    quota.write_text("garbage")
    assert cpus(quota) == mine


def test_cpus_follow_the_affinity() -> None:
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); " \
           "from livebus.runtime import cpus; print(cpus())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
