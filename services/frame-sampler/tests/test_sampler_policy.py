from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
import pytest

from livebus_sampler import image, synthetic
from livebus_sampler.policy import Decision, RateConfig, SessionState, step
from livebus_sampler.probe import Limits, probe

LIMITS = Limits(max_bytes=8 << 20, max_pixels=40_000_000, max_dimension=16_384)
FPS = 12
BG = synthetic.scene(640, 360)
OTHER = np.ascontiguousarray(255 - synthetic.scene(640, 360, seed=7))


def _thumb(img: np.ndarray) -> image.Gray:
    data = synthetic.jpeg(img)
    return image.thumbnail(data, probe(data, LIMITS))


DEFAULT = RateConfig()


def _run(phases: list[tuple[float, str]], cfg: RateConfig = DEFAULT) -> Iterator[
        tuple[float, str, bool, str]]:
    """Feed `phases` (seconds, still|moving|other) at FPS; yield (t, phase, emitted, reason)."""
    state, t0, i = SessionState(), 0.0, 0
    for seconds, kind in phases:
        for k in range(round(seconds * FPS)):
            t = t0 + k / FPS
            moving = kind == "moving"
            img = synthetic.frame(OTHER if kind == "other" else BG, t if moving else None, seed=i)
            d = step(state, t, cfg, partial(_thumb, img))
            i += 1
            yield t, kind, d.emit, d.reason
        t0 += seconds


def _rate(events: list[tuple[float, str, bool, str]], kind: str) -> float:
    """Frames per second from the mean interval between frames sent during a phase."""
    sent = [t for t, k, e, _ in events if k == kind and e]
    assert len(sent) >= 3
    return (len(sent) - 1) / (sent[-1] - sent[0])


def test_one_fps_still_three_fps_moving() -> None:
    events = list(_run([(4, "still"), (4, "moving"), (4, "still")]))
    assert events[0][2:] == (True, "first")
    assert 0.9 <= _rate(events[:4 * FPS], "still") <= 1.15
    assert 2.7 <= _rate(events, "moving") <= 3.3
    # After the motion hold the rate falls back to 1 fps.
    tail = [e for e in events[8 * FPS:] if e[0] >= 9.5]
    assert 1 <= sum(e[2] for e in tail) <= 3
    assert any(r == "duplicate" for _, _, _, r in events[8 * FPS:])


def test_configurable_rates() -> None:
    events = list(_run([(4.5, "still"), (3, "moving")], RateConfig(still_fps=0.5, moving_fps=2)))
    assert 0.45 <= _rate(events, "still") <= 0.55
    assert 1.7 <= _rate(events, "moving") <= 2.3


def test_scene_cut_is_sent_at_once() -> None:
    events = list(_run([(1.5, "still"), (1.0, "other")]))
    cut = next(e for e in events if e[1] == "other")
    assert cut[2:] == (True, "cut")
    assert cut[0] - max(t for t, k, e, _ in events if k == "still" and e) < 1.0


def test_frames_sent_on_schedule_make_no_thumbnail_until_one_is_needed() -> None:
    made: list[float] = []

    def thumb(t: float) -> image.Gray:
        made.append(t)
        return _thumb(synthetic.frame(BG, None, seed=int(t * 10)))

    state = SessionState()
    reasons = [step(state, float(t), DEFAULT, partial(thumb, float(t))).reason for t in range(5)]
    assert reasons == ["first"] + ["still"] * 4
    assert made == [], "1 fps input: every frame is on schedule, no thumbnail is made"
    # A frame between slots is compared with the last one sent: both thumbnails are made now.
    assert step(state, 4.3, DEFAULT, partial(thumb, 4.3)) == Decision(False, "rate")
    assert made == [4.0, 4.3]


def _run_quiet(phases: list[tuple[float, str, bool]]) -> list[tuple[float, str, bool, str]]:
    """Like _run, with each phase saying whether anybody speaks."""
    state, t0, i, out = SessionState(), 0.0, 0, []
    for seconds, kind, speaking in phases:
        state.quiet = not speaking
        for k in range(round(seconds * FPS)):
            t = t0 + k / FPS
            img = synthetic.frame(OTHER if kind == "other" else BG,
                                  t if kind == "moving" else None, seed=i)
            d = step(state, t, DEFAULT, partial(_thumb, img))
            i += 1
            out.append((t, kind, d.emit, d.reason))
        t0 += seconds
    return out


def test_a_still_scene_nobody_talks_about_goes_at_the_quiet_rate() -> None:
    events = _run_quiet([(1, "still", True), (10, "still", False), (3, "still", True)])
    quiet = [e for e in events if 1 <= e[0] < 11 and e[2]]
    assert len(quiet) == 2 and all(e[3] == "still" for e in quiet)  # 0.2 fps: every 5 s
    # Speech again: the first frame goes at once (its slot is long past), then 1 fps.
    talking = [e for e in events if e[0] >= 11 and e[2]]
    assert talking[0][0] == 11 and _rate(events[-3 * FPS:], "still") == \
        pytest.approx(1.0, rel=0.1)


def test_while_quiet_a_cut_goes_at_once_and_motion_at_the_moving_rate() -> None:
    events = _run_quiet([(3, "still", False), (1, "other", False), (3, "moving", False)])
    cut = [e for e in events if e[1] == "other" and e[2]]
    assert cut and cut[0][0] == 3 and cut[0][3] == "cut"  # the first frame of the new scene
    assert _rate(events, "moving") == pytest.approx(DEFAULT.moving_fps, rel=0.15)
