"""A daily token quota holds across two gateway replicas (and two bridges): the real SDK gets the
near-limit warning without noticing, the session that reaches the limit ends with 1008 "quota
exceeded: tokens per day", so does the user's other session, and a new one is refused; a third
session at once is refused at open."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.genai import errors, types
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosed

from livebus import closecodes
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, gateway_client, mint, running_stack

USER = "quota-user"
LIMIT = 1000
REASON = "quota exceeded: tokens per day"
ENV = {"LIVEBUS_BRIDGE_QUOTA_TOKENS_PER_DAY": str(LIMIT), "LIVEBUS_BRIDGE_QUOTA_WARN_RATIO": "0.15",
       "LIVEBUS_BRIDGE_QUOTA_CHECK_INTERVAL_S": "0.25",
       "LIVEBUS_BRIDGE_QUOTA_CONCURRENT_SESSIONS": "2",
       "LIVEBUS_BRIDGE_USAGE_FLUSH_INTERVAL_S": "0.25"}
CONFIG = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("quota")), bridges=2, gateways=2,
                       extra_env=ENV) as s:
        yield s


async def user_token(stack: Stack, user: str) -> str:
    return await mint(stack, {"uses": 1, "livebus": {"user": user}})


async def say(session: AsyncSession, text: str) -> list[types.LiveServerMessage]:
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]))
    return [m async for m in session.receive()]


def close_of(e: BaseException) -> tuple[int | None, str | None]:
    """The close as the SDK reports it: APIError from receive, ConnectionClosed from a send."""
    if isinstance(e, errors.APIError):
        return e.code, e.details if isinstance(e.details, str) else e.message
    assert isinstance(e, ConnectionClosed) and e.rcvd is not None, repr(e)
    return e.rcvd.code, e.rcvd.reason


def is_warning(m: types.LiveServerMessage) -> bool:
    """The warning as the SDK sees it: an empty server content (the extra field is dropped)."""
    return m.server_content is not None and m.server_content == types.LiveServerContent()


async def test_a_daily_token_quota_across_two_gateways(stack: Stack) -> None:
    first = gateway_client(stack, await user_token(stack, USER), gateway=0)
    second = gateway_client(stack, await user_token(stack, USER), gateway=1)
    async with first.aio.live.connect(model=MODEL, config=CONFIG) as idle:
        await say(idle, "hello from the first gateway")
        warned_then_answered = False
        with pytest.raises((errors.APIError, ConnectionClosed)) as ended:
            async with second.aio.live.connect(model=MODEL, config=CONFIG) as busy:
                for i in range(60):  # each turn costs ~100 tokens: the quota ends it
                    messages = await say(busy, f"turn {i} on the second gateway")
                    if warned_then_answered is False and any(is_warning(m) for m in messages):
                        warned_then_answered = None  # type: ignore[assignment]
                    elif warned_then_answered is None and messages[-1].server_content:
                        warned_then_answered = bool(messages[-1].server_content.turn_complete)
                    await asyncio.sleep(0.3)
        assert close_of(ended.value) == (closecodes.QUOTA_EXCEEDED, REASON)
        assert warned_then_answered is True
        with pytest.raises(errors.APIError) as other:  # the user's other session ends too
            async with asyncio.timeout(10):
                async for _ in idle.receive():
                    pass
        assert close_of(other.value) == (closecodes.QUOTA_EXCEEDED, REASON)
    with pytest.raises((errors.APIError, ConnectionClosed)) as refused:
        async with gateway_client(stack, await user_token(stack, USER), gateway=1).aio.live.connect(
                model=MODEL, config=CONFIG) as late:
            await say(late, "one more")
    assert close_of(refused.value) == (closecodes.QUOTA_EXCEEDED, REASON)
    # Another user is not affected.
    async with gateway_client(stack, await user_token(stack, "someone-else")).aio.live.connect(
            model=MODEL, config=CONFIG) as fine:
        assert (await say(fine, "hi"))[-1].server_content is not None


async def test_concurrent_sessions_across_two_gateways(stack: Stack) -> None:
    user = "busy-bee"
    a = gateway_client(stack, await user_token(stack, user), gateway=0)
    b = gateway_client(stack, await user_token(stack, user), gateway=1)
    async with a.aio.live.connect(model=MODEL, config=CONFIG) as one, \
            b.aio.live.connect(model=MODEL, config=CONFIG) as two:
        await asyncio.gather(say(one, "one"), say(two, "two"))
        await asyncio.sleep(0.5)  # both records are written (flush interval 0.25 s)
        third_client = gateway_client(stack, await user_token(stack, user), gateway=1)
        with pytest.raises((errors.APIError, ConnectionClosed)) as refused:
            async with third_client.aio.live.connect(model=MODEL, config=CONFIG) as third:
                await say(third, "three")
        assert close_of(refused.value) == (closecodes.QUOTA_EXCEEDED,
                                           "quota exceeded: concurrent sessions")
        assert (await say(one, "still here"))[-1].server_content is not None
    await asyncio.sleep(0.5)  # the two ended: their last records say so
    async with gateway_client(stack, await user_token(stack, user)).aio.live.connect(
            model=MODEL, config=CONFIG) as again:
        assert (await say(again, "back"))[-1].server_content is not None
