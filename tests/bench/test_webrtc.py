"""bench/webrtc.py's harness, cheaply: one session with audio and VP8 for 2 s per pipeline, inside
a network namespace. Every pipeline must receive what the client sends in real time; FastRTC-style
converts every frame, livebus's path only the frames it samples, and all of what its page sends
(3 fps)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import webrtc  # noqa: E402
from webrtc_media import make  # noqa: E402

from livebus_dev.testing import netns  # noqa: E402


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_every_pipeline_gets_real_time_media(tmp_path: Path) -> None:
    media = tmp_path / "media.pickle"
    make(webrtc.WIDTH, webrtc.HEIGHT, webrtc.FPS).save(media)
    with netns.one() as ns:
        runs = {p: webrtc.measure(ns, media, "audio+video", p, 1, 1.0, 2.0)
                for p in ("livebus", "fastrtc")}
        capped = webrtc.measure(ns, media, webrtc.CAPPED, "livebus", 1, 1.0, 3.0)
    for r in runs.values():
        assert 45 <= r.audio_fps <= 55, r        # 20 ms Opus frames
        assert 12 <= r.video_fps <= 18, r        # 15 fps sent
        assert r.edge_pct > 0 and r.client_pct > 0, r
    assert runs["fastrtc"].converted_fps == pytest.approx(runs["fastrtc"].video_fps, abs=0.6)
    assert 0 < runs["livebus"].converted_fps <= 3.5
    assert 45 <= capped.audio_fps <= 55, capped
    assert 2.3 <= capped.video_fps <= 3.7, capped
    assert capped.converted_fps == pytest.approx(capped.video_fps, abs=0.4), capped
