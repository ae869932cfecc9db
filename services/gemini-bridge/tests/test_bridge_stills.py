"""The still lane: uploaded images are downsized off the audio path, bounded, in client order."""

from __future__ import annotations

import asyncio
import gc
import json
import time

from livebus.v1 import bus_pb2
from livebus_bridge import stills
from livebus_bridge.stills import Control, StillLane, StillLimits, control_of


def upload(seq: int, images: int = 1, text: str = "", size: int = 1000) -> bus_pb2.ClientEvent:
    import base64
    parts: list[dict[str, object]] = [{"text": text}] if text else []
    parts += [{"inlineData": {"mimeType": "image/png",
                              "data": base64.b64encode(bytes([seq % 256]) * size).decode()}}
              for _ in range(images)]
    body = {"turns": [{"role": "user", "parts": parts}], "turnComplete": False}
    return bus_pb2.ClientEvent(seq=seq, client_content_json=json.dumps(body).encode())


class Upstream:
    """Records what the lane sends, in order."""

    def __init__(self) -> None:
        self.sent: list[Control] = []

    async def send(self, item: Control) -> None:
        self.sent.append(item)

    def texts(self) -> list[list[str]]:
        return [[(p.inline_data.mime_type or "") if p.inline_data else (p.text or "")
                 for t in c.content.turns or [] for p in t.parts or []]
                for c in self.sent if c.content is not None]


def lane(up: Upstream, delay: float = 0.0, **limits: float) -> StillLane:
    async def downsize(data: bytes, mime: str) -> tuple[bytes, str] | None:
        await asyncio.sleep(delay)
        return b"jpeg", "image/jpeg"
    return StillLane(StillLimits(**limits), downsize, up.send)  # type: ignore[arg-type]


async def drain(ln: StillLane, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while ln.busy and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


def test_control_of_parses_client_content_once_and_keeps_no_json() -> None:
    item = control_of(upload(3, images=2, text="look"))
    assert item.seq == 3 and len(item.stills) == 2
    assert not item.event.client_content_json
    plain = control_of(bus_pb2.ClientEvent(seq=4, text="hi"))
    assert plain.content is None and plain.event.text == "hi"


async def test_stills_are_downsized_and_sent_in_client_order() -> None:
    up = Upstream()
    ln = lane(up, delay=0.01)
    task = asyncio.create_task(ln.run())
    for seq in range(1, 4):
        ln.put(control_of(upload(seq)))
    ln.put(control_of(bus_pb2.ClientEvent(seq=4, text="after")))
    await drain(ln)
    task.cancel()
    assert [c.seq for c in up.sent] == [1, 2, 3, 4]
    assert up.texts()[:3] == [["image/jpeg"]] * 3


async def test_a_full_queue_replaces_the_oldest_pending_still_with_a_note() -> None:
    up = Upstream()
    ln = lane(up, delay=0.05, max_pending=2)
    task = asyncio.create_task(ln.run())
    ln.put(control_of(upload(1)))
    await asyncio.sleep(0.01)  # 1 is being downsized: not pending any more
    for seq in range(2, 6):
        ln.put(control_of(upload(seq)))
        assert ln.pending_stills() <= 2
    await drain(ln)
    task.cancel()
    assert [c.seq for c in up.sent] == [1, 2, 3, 4, 5]
    assert up.texts() == [["image/jpeg"], [stills.DROPPED_NOTE], [stills.DROPPED_NOTE],
                          ["image/jpeg"], ["image/jpeg"]]


async def test_the_per_minute_budget_replaces_images_past_it() -> None:
    up = Upstream()
    ln = lane(up, per_minute=2, max_pending=100)
    task = asyncio.create_task(ln.run())
    for seq in range(1, 5):
        ln.put(control_of(upload(seq)))
    ln.put(control_of(upload(5, size=10_000)))
    await drain(ln)
    task.cancel()
    assert up.texts() == [["image/jpeg"]] * 2 + [[stills.OVER_BUDGET_NOTE]] * 3
    up2 = Upstream()
    ln2 = lane(up2, bytes_per_minute=2500, max_pending=100)
    for seq in range(1, 4):
        ln2.put(control_of(upload(seq)))
    assert [len(c.stills) for c in ln2.queue] == [1, 1, 0]


async def test_a_slow_downsize_times_out_and_the_image_goes_as_it_is() -> None:
    up = Upstream()
    ln = lane(up, delay=10.0, timeout_s=0.05)
    task = asyncio.create_task(ln.run())
    ln.put(control_of(upload(1)))
    await drain(ln)
    task.cancel()
    assert up.texts() == [["image/png"]]


async def test_nothing_keeps_an_image_after_it_went_upstream() -> None:
    sent = 0

    async def send(item: Control) -> None:
        nonlocal sent
        sent += 1

    async def downsize(data: bytes, mime: str) -> tuple[bytes, str] | None:
        return None

    ln = StillLane(StillLimits(max_pending=1000, per_minute=1000,
                               bytes_per_minute=1 << 30), downsize, send)
    task = asyncio.create_task(ln.run())
    for seq in range(1, 51):
        ln.put(control_of(upload(seq, size=100_000)))
    await drain(ln)
    task.cancel()
    assert sent == 50
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, Control)]
