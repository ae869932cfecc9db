// preroll.js: microphone audio kept while connecting.
import assert from "node:assert/strict";
import { test } from "node:test";

import { keep, newPreroll, take } from "../../livebus_gateway/static/preroll.js";

const chunk = (n, v = 0) => new Int16Array(n).fill(v);

test("keeps the newest audio up to the limit, oldest first", () => {
  const p = newPreroll();
  for (let i = 0; i < 10; i++) keep(p, chunk(640, i), i / 10, 3200);
  assert.equal(p.samples, 3200);
  const chunks = take(p);
  assert.deepEqual(chunks.map(([pcm]) => pcm[0]), [5, 6, 7, 8, 9]);
  assert.deepEqual(chunks.map(([, rms]) => rms), [0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(p, newPreroll(), "empty after take");
});

test("a chunk larger than the limit is not kept", () => {
  const p = newPreroll();
  keep(p, chunk(5000), 0.1, 3200);
  assert.deepEqual(take(p), []);
  assert.equal(p.samples, 0);
});
