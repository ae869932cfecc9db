from __future__ import annotations

import cv2
import numpy as np

from livebus_sampler import synthetic
from livebus_sampler.policy import RateConfig, SessionState
from livebus_sampler.probe import Limits, probe
from livebus_sampler.sampling import Output, sample

LIMITS = Limits(max_bytes=8 << 20, max_pixels=40_000_000, max_dimension=16_384)
BG = synthetic.scene(640, 480)
FPS = 12


def test_still_stream_is_sent_at_the_still_rate_as_still() -> None:
    state, out, reasons = SessionState(), Output(), []
    for i in range(6 * FPS):
        data = synthetic.jpeg(synthetic.frame(BG, None, seed=i))
        reason, enc = sample(state, data, probe(data, LIMITS), i / FPS, RateConfig(), out)
        if enc is not None:
            reasons.append(reason)
            assert len(enc.jpeg) <= out.budget
            img = cv2.imdecode(np.frombuffer(enc.jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert img.shape[:2] == (384, 512)
    assert reasons == ["first"] + ["still"] * 5


def test_moving_stream_is_sent_faster() -> None:
    state, sent = SessionState(), 0
    for i in range(4 * FPS):
        data = synthetic.jpeg(synthetic.frame(BG, i / FPS, seed=i))
        _, enc = sample(state, data, probe(data, LIMITS), i / FPS, RateConfig(), Output())
        sent += enc is not None
    assert 11 <= sent <= 13  # 3 fps over 4 s
