// stats.js: the counters tests and the console read from window.livebus.stats.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  countFrameSent, countMicSent, flushAsked, flushDone, newStats, noteMicClock, playerReport,
  recordLatency,
} from "../../livebus_gateway/static/stats.js";

test("microphone: RMS over all samples sent, and the peak", () => {
  const st = newStats();
  countMicSent(st, 640, 0.1);
  countMicSent(st, 640, 0.3);
  assert.equal(st.micChunksSent, 2);
  assert.equal(st.micSamplesSent, 1280);
  assert.ok(Math.abs(st.micRms - Math.sqrt((0.01 + 0.09) / 2)) < 1e-12);
  assert.equal(st.micPeakRms, 0.3);
});

test("the microphone clock: its earliest arrival, and a new run after dropped input", () => {
  const st = newStats();
  noteMicClock(st, 320, 1025, 16000, 320); // 20 ms chunks at 16 kHz: zero at 1005
  noteMicClock(st, 640, 1043, 16000, 320); // earlier: 1003
  noteMicClock(st, 960, 1068, 16000, 320); // 1008: jitter, the same run
  assert.equal(st.micClockMs, 1003);
  assert.deepEqual(st.micClockSteps, [[0, 1003]]);
  // 200 ms of input dropped before this chunk: its samples were captured 200 ms later.
  noteMicClock(st, 1280, 1283, 16000, 320);
  assert.equal(st.micClockMs, 1003);
  assert.deepEqual(st.micClockSteps, [[0, 1003], [960, 1203]]);
});

test("frames: the largest size seen", () => {
  const st = newStats();
  countFrameSent(st, 9000, 512, 288);
  countFrameSent(st, 7000, 384, 512);
  assert.deepEqual([st.framesSent, st.lastFrameBytes, st.maxFrameW, st.maxFrameH],
    [2, 7000, 512, 512]);
});

test("a flush is timed by the page clock and by the audio clock", () => {
  const st = newStats();
  flushAsked(st, 3, 1000, 2.0);
  const report = { id: 3, at: 2.004, droppedNow: 24000, wasPlaying: true, played: 48000,
    queued: 0, dropped: 24000, underruns: 0, playing: false, level: 0 };
  flushDone(st, report, 1012);
  assert.equal(st.interruptions, 1);
  const f = st.lastFlush;
  assert.equal(f.roundTripMs, 12);
  assert.ok(Math.abs(f.audioClockDelayMs - 4) < 1e-9);
  assert.deepEqual([f.droppedNow, f.wasPlaying, f.queuedAfter, f.playingAfter, f.playedAtFlush],
    [24000, true, 0, false, 48000]);
  assert.equal(st.samplesDropped, 24000);
});

test("a late answer to an older flush does not overwrite the latest one", () => {
  const st = newStats();
  flushAsked(st, 1, 0, 0);
  flushAsked(st, 2, 10, 0.01);
  flushDone(st, { id: 1, at: 0.02, played: 5, queued: 0, dropped: 0, underruns: 0,
    playing: false, level: 0 }, 30);
  assert.equal(st.lastFlush.id, 2);
  assert.equal(st.lastFlush.flushedAt, undefined);
  assert.equal(st.samplesPlayed, 5, "the player's counters are still taken");
});

test("player reports and latency readouts", () => {
  const st = newStats();
  playerReport(st, { played: 10, queued: 20, dropped: 1, underruns: 2, playing: true, level: 0.5 });
  assert.deepEqual([st.samplesPlayed, st.samplesQueued, st.samplesDropped, st.underruns,
    st.playing, st.outLevel], [10, 20, 1, 2, true, 0.5]);
  playerReport(st, { played: 12, queued: 0, dropped: 1, underruns: 2, playing: false, level: 0 });
  assert.deepEqual([st.outLevel, st.outPeak], [0, 0.5], "the loudest level heard is kept");
  recordLatency(st, 800);
  recordLatency(st, 600);
  assert.deepEqual([st.lastLatencyMs, st.latencies], [600, [800, 600]]);
});
