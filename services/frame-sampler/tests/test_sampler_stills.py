from __future__ import annotations

from typing import cast

from nats.aio.msg import Msg

from livebus_sampler.image import Cost
from livebus_sampler.probe import Header
from livebus_sampler.stills import StillJob, StillQueue

HEAD = Header("png", 10, 10)


def _job(session: str, n: int) -> StillJob:
    return StillJob(cast(Msg, n), session, HEAD, Cost(100, 1000), float(n))


async def test_a_session_keeps_its_newest_stills() -> None:
    q = StillQueue(per_session=2, total=10)
    a1, a2, a3 = _job("a", 1), _job("a", 2), _job("a", 3)
    assert q.offer(a1).accepted and q.offer(a2).accepted
    offer = q.offer(a3)
    assert offer.accepted and offer.evicted == [a1]  # the oldest waiting one is answered busy
    assert q.holding("a") == 2 and len(q) == 2
    running = await q.get()
    assert running is a2
    q.offer(_job("a", 4))                            # evicts a3, the only one still waiting
    assert q.holding("a") == 2
    q.done(running)
    assert q.holding("a") == 1


async def test_while_a_sessions_stills_all_decode_a_new_one_is_refused() -> None:
    q = StillQueue(per_session=1, total=10)
    q.offer(_job("a", 1))
    await q.get()
    assert not q.offer(_job("a", 2)).accepted


def test_a_full_replica_refuses_new_stills_and_evicts_nobody_elses() -> None:
    q = StillQueue(per_session=2, total=3)
    jobs = [_job("a", 1), _job("b", 2), _job("", 3)]
    assert all(q.offer(j).accepted for j in jobs)
    offer = q.offer(_job("c", 4))
    assert not offer.accepted and offer.evicted == []
    assert len(q) == 3 and q.holding("c") == 0
    assert all(q.offer(_job("", 5 + i)).accepted is False for i in range(3))
