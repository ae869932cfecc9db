// camera.js: frame sizes.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_SIDE, fitWithin } from "../../livebus_gateway/static/camera.js";

test("frames fit 512x512 with their aspect ratio, never upscaled", () => {
  assert.equal(MAX_SIDE, 512);
  assert.deepEqual(fitWithin(1280, 720), { width: 512, height: 288 });
  assert.deepEqual(fitWithin(720, 1280), { width: 288, height: 512 });
  assert.deepEqual(fitWithin(320, 240), { width: 320, height: 240 });
  assert.deepEqual(fitWithin(4000, 1), { width: 512, height: 1 });
  assert.deepEqual(fitWithin(2048, 1536, 1024), { width: 1024, height: 768 });
});
