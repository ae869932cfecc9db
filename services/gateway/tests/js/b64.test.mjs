// b64.js: base64 both ways, standard and URL-safe.
import assert from "node:assert/strict";
import { test } from "node:test";

import { decode, encode, encodeBlob } from "../../livebus_gateway/static/b64.js";

test("round trip of every byte value and of typed-array views", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(encode(bytes), Buffer.from(bytes).toString("base64"));
  assert.deepEqual(decode(encode(bytes)), bytes);
  const pcm = Int16Array.from([0, 1, -1, 32767, -32768]);
  assert.equal(encode(pcm), Buffer.from(pcm.buffer).toString("base64"));
  const view = bytes.subarray(10, 20);
  assert.equal(encode(view), Buffer.from(view).toString("base64"));
});

test("URL-safe base64 (as some servers send audio) decodes to the same bytes", () => {
  const bytes = Uint8Array.from([251, 255, 254, 62, 63]);
  const url = Buffer.from(bytes).toString("base64url");
  assert.match(url, /[-_]/);
  assert.deepEqual(decode(url), bytes);
});

test("large buffers (beyond one String.fromCharCode batch)", async () => {
  const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 31) & 0xff);
  assert.equal(encode(bytes), Buffer.from(bytes).toString("base64"));
  assert.equal(await encodeBlob(new Blob([bytes])), Buffer.from(bytes).toString("base64"));
});
