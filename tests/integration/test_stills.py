"""An image the user uploads in client content reaches the model within 512x512, never dropped."""

from __future__ import annotations

import cv2
import numpy as np
from converse import read_turn
from google.genai import types

from livebus import b64
from livebus_dev.devstack import Stack
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.stack import MODEL, gateway_client


def photo(width: int, height: int) -> bytes:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1)
    img = (img + rng.integers(0, 40, img.shape)).clip(0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(buf.tobytes())


async def test_uploaded_images_are_downsized_and_all_arrive(stack: Stack) -> None:
    big = photo(1600, 1200)
    assert 300_000 < len(big) < 2_000_000
    config = types.LiveConnectConfig(output_audio_transcription=types.AudioTranscriptionConfig())
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=config) as session:
        for i in range(3):  # back to back: stills are never rate-dropped
            await session.send_client_content(turns=types.Content(role="user", parts=[
                types.Part(text=f"what is on photo {i}?"),
                types.Part(inline_data=types.Blob(data=big, mime_type="image/jpeg"))]))
            turn = await read_turn(session)
            assert "512 by 384" in turn.output_text, "the model saw the downsized image"
    record = (await sessions(stack))[-1]
    images = [p["inlineData"] if "inlineData" in p else p["inline_data"]
              for c in record["client_contents"] for t in c["turns"] for p in t["parts"]
              if "inlineData" in p or "inline_data" in p]
    assert len(images) == 3
    for blob in images:
        jpeg = b64.decode(blob["data"])
        decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        height, width = decoded.shape[:2]
        assert (width, height) == (512, 384), "aspect kept, within 512x512"
        assert len(jpeg) <= 32_000, "within the byte budget"
