// uplink.js: congestion from the gateway's acknowledgements, and the frames it lets through.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  FRAME_DELAY_MS, LEVELS, PROBE_MS, START_LEVEL, Uplink,
} from "../../livebus_gateway/static/uplink.js";

// Bytes of a frame message at each level (base64 JSON of a noisy 4:3 camera image).
const SIZES = [44000, 30000, 17000, 11000, 7000, 4000];
const AUDIO_BYTES = 1800; // 40 ms of 16 kHz PCM16 as base64 JSON
const ACK_MS = 20; // the gateway acknowledges at most this often
const BURST = 4000; // the link's token bucket (as tc's tbf burst 32kbit): small messages fly

/**
 * A page streaming audio and frames over a FIFO link of `rate` bytes/ms behind a token
 * bucket of BURST bytes, in 1 ms steps; the gateway acknowledges as acks.py does.
 */
function simulate({ rate, seconds, fps = 1 }) {
  const up = new Uplink();
  const inflight = []; // {left, seq, audio, t}
  let tokens = BURST;
  let seq = 0;
  let delivered = 0;
  let acked = 0;
  let lastAck = -Infinity;
  const audioDelays = [];
  const frames = [];
  const send = (t, bytes, audio) => {
    up.sent(t, bytes);
    seq += 1;
    inflight.push({ left: bytes, seq, audio, t });
  };
  for (let t = 0; t < seconds * 1000; t++) {
    tokens = Math.min(BURST, tokens + rate);
    while (inflight.length && tokens > 0) {
      const m = inflight[0];
      const n = Math.min(tokens, m.left);
      m.left -= n;
      tokens -= n;
      if (m.left > 0) break;
      inflight.shift();
      delivered = m.seq;
      if (m.audio) audioDelays.push(t - m.t);
    }
    if (delivered > acked && t - lastAck >= ACK_MS) {
      up.acked(t, delivered);
      acked = delivered;
      lastAck = t;
    }
    if (t % 40 === 0) send(t, AUDIO_BYTES, true);
    if (t % (1000 / fps) === 0 && up.wantFrame(t)) {
      const bytes = SIZES[up.level];
      if (up.frameReady(t, bytes)) {
        send(t, bytes, false);
        frames.push({ t, level: up.level, bytes });
      }
    }
  }
  audioDelays.sort((a, b) => a - b);
  const p99 = audioDelays[Math.floor(audioDelays.length * 0.99)];
  return { up, p99, frames };
}

test("until an acknowledgement says what the link is, no frame is taken", () => {
  // (A server that never acknowledges: the page goes by bufferedAmount alone, media.js.)
  const up = new Uplink();
  up.sent(0, 1000);
  assert.equal(up.acks, 0);
  assert.equal(up.rate, null);
  assert.equal(up.wantFrame(10), false);
  assert.deepEqual(up.shape, LEVELS[START_LEVEL]);
  assert.equal(up.report(10).acked, false);
  up.acked(12, 1);
  assert.equal(up.rate, null, "1000 bytes through a burst allowance say nothing of the rate");
  assert.equal(up.wantFrame(20), true, "a first frame (small) measures the link");
  assert.deepEqual(up.shape, LEVELS[START_LEVEL]);
  assert.equal(up.frameReady(20, 7000), true);
  up.sent(20, 7000);
  assert.equal(up.wantFrame(30), false, "one frame at a time");
  up.acked(90, 2);
  assert.ok(Math.abs(up.rate - 100) < 1e-9, `${up.rate}`);
  assert.equal(up.wantFrame(92), false, "until its queue has drained");
  quick(up, 95);
  assert.equal(up.wantFrame(100), false, "and a while after it: the link may pay later");
  quick(up, 250);
  assert.equal(up.lastFramePeakMs, 70);
  assert.equal(up.lastDrainMs, 232);

});

/** An audio message acknowledged at once: a drained queue. */
function quick(up, t) {
  up.sent(t, 100);
  up.acked(t + 2, up.sentMsgs);
}

test("an acknowledgement counts messages: never more than were sent, garbage ignored", () => {
  const up = new Uplink();
  up.sent(0, 100);
  up.sent(1, 200);
  for (const bad of [NaN, -1, "x", null, undefined, 0]) up.acked(5, bad);
  assert.equal(up.acks, 0);
  up.acked(5, 99);
  assert.equal(up.ackedMsgs, 2);
  assert.equal(up.ackedBytes, 300);
  assert.equal(up.baseMs, 4);
  up.acked(6, 1); // old news
  assert.equal(up.ackedMsgs, 2);
});

test("a message waiting long beyond the usual round trip is late", () => {
  const up = new Uplink();
  up.sent(0, 100);
  up.acked(10, 1);
  up.sent(20, 100);
  assert.equal(up.lateMs(25), 0);
  assert.equal(up.lateMs(200), 170);
  assert.equal(up.wantFrame(200), false);
});

test("on a 1 Mbit/s link frames get smaller and sparser; audio stays within the budget", () => {
  const rate = 120; // bytes/ms
  const off = simulate({ rate, seconds: 30, fps: 0.001 });
  const on = simulate({ rate, seconds: 30, fps: 1 });
  // The burst allowance flatters the measured rate; the frames' own delays keep it honest.
  assert.ok(on.up.rate >= 0.9 * rate, `rate ${on.up.rate}`);
  assert.ok(on.p99 <= FRAME_DELAY_MS, `audio p99 ${on.p99} ms (camera off ${off.p99})`);
  assert.ok(off.p99 < 20, `${off.p99}`);
  assert.ok(on.frames.length >= 15, `${on.frames.length} frames in 30 s`);
  const late = on.frames.filter((f) => f.t > 10000);
  assert.ok(late.every((f) => f.bytes <= rate * FRAME_DELAY_MS), JSON.stringify(late));
  assert.equal(on.up.paused, false);
});

test("at full rate on the same link a frame would hold audio for a third of a second", () => {
  // What the budget prevents: the best level's frame alone takes this long to send.
  assert.ok(SIZES[0] / 120 > 3 * FRAME_DELAY_MS);
});

test("on a fast link quality climbs to the best level and every frame goes", () => {
  const { up, frames, p99 } = simulate({ rate: 10000, seconds: 20, fps: 2 });
  assert.equal(up.level, 0);
  assert.ok(frames.length >= 38, `${frames.length}`);
  assert.ok(p99 < 10, `${p99}`);
});

test("when the audio nearly fills the link, video all but stops and audio keeps time", () => {
  const { up, frames, p99 } = simulate({ rate: 50, seconds: 30, fps: 1 });
  assert.ok(up.paused || up.level >= LEVELS.length - 2, `level ${up.level}`);
  assert.ok(frames.length <= 30 / 2, JSON.stringify(frames)); // of 30 asked for
  assert.ok(p99 <= FRAME_DELAY_MS + 40, `audio p99 ${p99} ms`);
});

test("the audio after a frame is what counts, also when the frame itself flew", () => {
  // A token bucket lets the frame through at once and makes the audio after it pay.
  const up = new Uplink();
  quick(up, 0);
  up.frameReady(10, 4000);
  up.sent(10, 4000);
  up.acked(12, 2); // the frame: 2 ms
  up.sent(40, 1800);
  up.sent(80, 1800);
  up.acked(230, 4); // the audio behind it: up to 190 ms
  quick(up, 240);
  assert.equal(up.lastFramePeakMs, 190);
  assert.equal(up.level, START_LEVEL + 1, "the next frame is smaller");
});

test("a queue that does not drain beside the audio stops video", () => {
  const up = new Uplink();
  up.level = LEVELS.length - 1;
  quick(up, 0);
  up.frameReady(10, 4000);
  up.sent(10, 4000);
  for (let t = 50; t < 2200; t += 40) { // every message 60 ms late: the queue stays
    up.sent(t, 1800);
    up.acked(t + 60, up.sentMsgs);
  }
  assert.equal(up.episode, null);
  assert.equal(up.lastDrainMs, Infinity);
  assert.equal(up.paused, true);
});

test("stopped video probes on a drained queue, backing off while probes fail", () => {
  const up = new Uplink();
  up.level = LEVELS.length - 1;
  up.paused = true;
  up.lastFrameAt = 0;
  quick(up, 0);
  assert.equal(up.wantFrame(100), false);
  assert.equal(up.wantFrame(PROBE_MS), true);
  assert.equal(up.frameReady(PROBE_MS, 4000), true, "a probe goes whatever the estimate");
  up.sent(PROBE_MS, 4000);
  up.acked(PROBE_MS + 200, up.sentMsgs); // 200 ms: too slow
  quick(up, PROBE_MS + 210);
  quick(up, PROBE_MS + 260);
  assert.equal(up.paused, true);
  assert.equal(up.probeMs, 2 * PROBE_MS);
  assert.equal(up.wantFrame(2 * PROBE_MS + 10), false);
  const next = 3 * PROBE_MS;
  up.sent(next - 100, 100); // not acknowledged 100 ms on: not drained
  assert.equal(up.wantFrame(next), false, "a probe waits for a drained queue");
  up.acked(next, up.sentMsgs);
  assert.equal(up.wantFrame(next), true);
  up.frameReady(next, 4000);
  up.sent(next, 4000);
  up.acked(next + 30, up.sentMsgs);
  quick(up, next + 250);
  assert.equal(up.paused, false, "30 ms: video goes on");
  assert.equal(up.probeMs, PROBE_MS);
});
