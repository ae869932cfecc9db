"""Which frames go to the model: adaptive rate, scene cuts, near-duplicates. Pure logic, so the
same code runs in the service, the tests and the benchmark."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .image import Gray


@dataclass(frozen=True)
class RateConfig:
    still_fps: float = 1.0
    quiet_fps: float = 0.2  # the still cadence while nobody speaks (SessionState.quiet)
    moving_fps: float = 3.0
    motion_hold_s: float = 1.0
    motion_fraction: float = 0.004
    duplicate_fraction: float = 0.001
    cut_fraction: float = 0.45
    cut_min_interval_s: float = 0.25
    pixel_delta: int = 10


def changed(a: Gray, b: Gray, pixel_delta: int) -> float:
    """The share of thumbnail cells that changed by more than pixel_delta."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float(np.count_nonzero(diff > pixel_delta)) / diff.size


@dataclass
class SessionState:
    """One session's memory: only the owning sampler holds it."""

    prev_thumb: Gray | None = None   # the previous frame received
    sent_thumb: Gray | None = None   # the last frame sent
    last_sent: float | None = None   # monotonic seconds
    # The schedule slot of the last sent frame (<= last_sent): measuring the next interval from
    # the slot rather than the arrival keeps the average rate on target despite input jitter.
    anchor: float = 0.0
    last_cut: float = float("-inf")
    moving_until: float = float("-inf")
    quality: int = 0                 # JPEG quality that met the budget last time
    # The thumbnail of the last frame, which was sent on schedule without one: made only if the
    # next frame comes before the next slot (at 1 fps input, never).
    unseen: Callable[[], Gray] | None = None
    # Nobody speaks (the bridge's speech state): a still scene is sent at quiet_fps; motion and
    # cuts go as ever, and the first frame after someone starts speaking goes at once.
    quiet: bool = False


@dataclass(frozen=True)
class Decision:
    emit: bool
    reason: str  # emitted: first | cut | moving | still ; dropped: rate | duplicate


def step(state: SessionState, now: float, cfg: RateConfig, thumb: Callable[[], Gray]) -> Decision:
    """Say whether to send this frame, updating the session's motion memory. `thumb` makes the
    frame's thumbnail; the first frame and the still cadence's frames are sent whatever they
    show, so theirs is made only when the next frame needs it as a reference."""
    still_interval = 1.0 / (cfg.quiet_fps if state.quiet else cfg.still_fps)
    if state.last_sent is None or now - state.anchor >= still_interval:
        reason, interval = ("first", 0.0) if state.last_sent is None else ("still", still_interval)
        state.unseen, state.prev_thumb = thumb, None
        return _sent(state, None, now, reason, interval)
    if state.unseen is not None:
        state.prev_thumb = state.sent_thumb = state.unseen()
        state.unseen = None
    current = thumb()
    prev, state.prev_thumb = state.prev_thumb, current
    assert state.sent_thumb is not None  # every frame sent left a thumbnail or an unseen one
    since_prev = changed(current, prev, cfg.pixel_delta) if prev is not None else 0.0
    since_sent = changed(current, state.sent_thumb, cfg.pixel_delta)
    # Consecutive-frame change catches motion; change since the last sent frame catches drift.
    if max(since_sent, since_prev) > cfg.motion_fraction:
        state.moving_until = now + cfg.motion_hold_s
    if since_prev >= cfg.cut_fraction and now - state.last_cut >= cfg.cut_min_interval_s:
        state.last_cut = now
        return _sent(state, current, now, "cut")
    moving_interval = 1.0 / cfg.moving_fps
    if now >= state.moving_until or now - state.anchor < moving_interval:
        return Decision(False, "rate")
    if since_sent < cfg.duplicate_fraction:
        return Decision(False, "duplicate")
    return _sent(state, current, now, "moving", moving_interval)


def _sent(state: SessionState, thumb: Gray | None, now: float, reason: str,
          interval: float = 0.0) -> Decision:
    state.sent_thumb, state.last_sent = thumb, now
    # On schedule: the next slot follows this one; late by more than half an interval: restart.
    state.anchor = max(state.anchor + interval, now - interval / 2) if interval else now
    return Decision(True, reason)
