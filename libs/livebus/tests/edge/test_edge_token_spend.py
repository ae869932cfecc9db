"""A token use is counted exactly once through lost answers (a leader change), against a real
nats-server: a write that was stored but timed out is recognised on the retry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from livebus import bus
from livebus.edge.tokens import Grant, TokenError, spend
from livebus_dev.testing.kv import LostAnswers
from livebus_dev.testing.nats import running_nats


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nats(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture
async def kv(nats_url: str) -> AsyncIterator[KeyValue]:
    nc = await bus.connect(nats_url, "test")
    try:
        yield await nc.jetstream().create_key_value(KeyValueConfig(bucket="uses", history=1))
    finally:
        await nc.close()


def grant(token_id: str, uses: int) -> Grant:
    return Grant(user="u", token_id=token_id, uses=uses)


async def uses_of(kv: KeyValue, key: str) -> int:
    value = (await kv.get(key)).value or b""
    return int(value.decode().split()[0])


async def test_a_first_use_whose_answer_was_lost_is_counted_once(kv: KeyValue) -> None:
    lossy = LostAnswers(kv)
    lossy.lose = 1
    await spend(lossy, grant("t1", uses=1))  # type: ignore[arg-type]
    assert await uses_of(kv, "t1") == 1
    with pytest.raises(TokenError):  # and that one use is spent
        await spend(kv, grant("t1", uses=1))


async def test_a_later_use_whose_answer_was_lost_is_counted_once(kv: KeyValue) -> None:
    await spend(kv, grant("t2", uses=3))
    lossy = LostAnswers(kv)
    lossy.lose = 1
    await spend(lossy, grant("t2", uses=3))  # type: ignore[arg-type]
    assert await uses_of(kv, "t2") == 2
    await spend(kv, grant("t2", uses=3))
    with pytest.raises(TokenError):
        await spend(kv, grant("t2", uses=3))
