"""Which frames go to the model: adaptive rate, scene cuts, near-duplicates. Pure logic, so the
same code runs in the service, the tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .image import Gray
from .probe import Header


@dataclass(frozen=True)
class RateConfig:
    still_fps: float = 1.0
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
    # The last frame, sent on schedule without a thumbnail: made only if the next frame comes
    # before the next slot (at 1 fps input, never).
    unseen: tuple[bytes, Header] | None = None


@dataclass(frozen=True)
class Decision:
    emit: bool
    reason: str  # emitted: first | cut | moving | still ; dropped: rate | duplicate


def on_schedule(state: SessionState, now: float, cfg: RateConfig) -> Decision | None:
    """The first frame and the still cadence's frames are sent whatever they show: decided
    without a thumbnail. None: the frame needs `decide`."""
    if state.last_sent is None:
        return _sent(state, None, now, "first")
    if now - state.anchor >= 1.0 / cfg.still_fps:
        return _sent(state, None, now, "still", 1.0 / cfg.still_fps)
    return None


def decide(state: SessionState, thumb: Gray, now: float, cfg: RateConfig) -> Decision:
    """Update the session's motion memory with this frame and say whether to send it."""
    prev, state.prev_thumb = state.prev_thumb, thumb
    if state.sent_thumb is None or state.last_sent is None:
        return _sent(state, thumb, now, "first")
    since_prev = changed(thumb, prev, cfg.pixel_delta) if prev is not None else 0.0
    since_sent = changed(thumb, state.sent_thumb, cfg.pixel_delta)
    # Consecutive-frame change catches motion; change since the last sent frame catches drift.
    if max(since_sent, since_prev) > cfg.motion_fraction:
        state.moving_until = now + cfg.motion_hold_s
    elapsed = now - state.anchor
    cut = since_prev >= cfg.cut_fraction
    if cut and now - state.last_cut >= cfg.cut_min_interval_s:
        state.last_cut = now
        return _sent(state, thumb, now, "cut")
    still_interval = 1.0 / cfg.still_fps
    if elapsed >= still_interval:  # the still cadence: the model keeps seeing the scene
        return _sent(state, thumb, now, "still", still_interval)
    moving_interval = 1.0 / cfg.moving_fps
    if now >= state.moving_until or elapsed < moving_interval:
        return Decision(False, "rate")
    if since_sent < cfg.duplicate_fraction:
        return Decision(False, "duplicate")
    return _sent(state, thumb, now, "moving", moving_interval)


def _sent(state: SessionState, thumb: Gray | None, now: float, reason: str,
          interval: float = 0.0) -> Decision:
    state.sent_thumb, state.last_sent = thumb, now
    if thumb is None:
        state.prev_thumb = None
    # On schedule: the next slot follows this one; late by more than half an interval: restart.
    state.anchor = max(state.anchor + interval, now - interval / 2) if interval else now
    return Decision(True, reason)
