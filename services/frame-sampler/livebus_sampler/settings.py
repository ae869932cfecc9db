"""frame-sampler settings (environment variables LIVEBUS_SAMPLER_*)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from livebus import subjects
from livebus.config import ServiceSettings


class SamplerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEBUS_SAMPLER_", extra="ignore")

    health_port: int = 9200

    # Output: fits inside max_side x max_side, aspect kept, never upscaled.
    max_side: int = 512
    pad: bool = False                 # pad to exactly max_side x max_side (black bars)
    byte_budget: int = 30_000         # one output JPEG stays under this many bytes
    quality: int = 80                 # starting JPEG quality, lowered to meet the budget
    min_quality: int = 30

    # Adaptive rate.
    still_fps: float = 1.0
    # While nobody speaks (user or model, from the bridges' speech state) a still scene goes at
    # this rate; a speech state older than speech_stale_s is ignored (the cadence is still_fps).
    quiet_fps: float = 0.2
    speech_stale_s: float = 6.0
    moving_fps: float = 3.0
    motion_hold_s: float = 1.0        # stay at moving_fps this long after the last motion
    motion_fraction: float = 0.004    # share of thumbnail cells that changed = motion
    duplicate_fraction: float = 0.001  # below this (vs the last sent frame) = near-duplicate
    cut_fraction: float = 0.45        # share of cells changed since the previous frame = cut
    cut_min_interval_s: float = 0.25  # cuts bypass the rate, but not faster than this
    pixel_delta: int = 10             # a thumbnail cell "changed" by more than this (0..255)

    # Input limits: checked on the header, before any decode.
    max_input_bytes: int = 2 * 1024 * 1024  # the gateway's max_frame_bytes
    max_pixels: int = 40_000_000
    max_dimension: int = 16_384

    # What costs (docs/security.md). A frame or still whose decode would hold more than
    # max_decode_bytes is refused from its header (too_many_pixels); all decodes together hold
    # at most decode_bytes_in_flight (0 = twice max_decode_bytes). Each session may decode
    # session_pixels_per_s (saving up session_pixel_burst); video frames past it are dropped
    # (pixel_budget), stills answered "busy".
    max_decode_bytes: int = 96 * 1024 * 1024
    decode_bytes_in_flight: int = 0
    session_pixels_per_s: float = 20_000_000
    session_pixel_burst: int = 60_000_000
    # Uploaded stills: decoded on their own threads, at most still_session_pending per session
    # (a newer one replaces the oldest waiting) and still_queue waiting per replica (more are
    # "busy" at once); one that waited still_max_wait_s is "busy" (the bridge gave up at 2 s).
    still_concurrency: int = 1
    still_session_pending: int = 2
    still_queue: int = 16
    still_max_wait_s: float = 2.0
    # Frames the NATS client may hold before the sampler reads them (each subscription); past
    # it the server drops them as a slow consumer (video is latest-wins anyway).
    raw_pending_bytes: int = 64 * 1024 * 1024

    # Work and state.
    workers: int = 0                  # decode/encode threads; 0 = one per CPU it may use
    session_idle_s: float = 30.0      # forget a session's state after this long without frames

    # Replicas: members heartbeat into a KV bucket; sessions go by rendezvous hashing.
    members_bucket: str = subjects.KV_SAMPLER_MEMBERS
    member_ttl_s: float = 1.5
    heartbeat_s: float = 0.4
