from __future__ import annotations

import asyncio

from livebus.runtime import cancel_and_wait


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
