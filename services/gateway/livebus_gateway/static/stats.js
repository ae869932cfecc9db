// What the page counts (window.livebus.stats; docs/web-client.md lists every field). Pure.

export function newStats() {
  return {
    micChunksSent: 0, micSamplesSent: 0, micSamplesCaptured: 0, micRms: 0, micPeakRms: 0,
    micLevel: 0, micSumSq: 0, micPrerollSent: 0, micClockMs: null, micClockSteps: [],
    framesSent: 0, framesDropped: 0, framesSkipped: 0, maxFrameW: 0, maxFrameH: 0,
    lastFrameBytes: 0, uplink: null,
    samplesReceived: 0, samplesPlayed: 0, samplesDropped: 0, samplesQueued: 0, underruns: 0,
    playing: false, outLevel: 0, outPeak: 0,
    interruptions: 0, lastFlush: null,
    lastLatencyMs: null, latencies: [],
    textsSent: 0, imagesSent: 0, turns: 0, connects: 0,
  };
}

/** A microphone chunk of `samples` at level `rms` was sent. */
export function countMicSent(stats, samples, rms) {
  stats.micChunksSent += 1;
  stats.micSamplesSent += samples;
  stats.micSumSq += rms * rms * samples;
  stats.micRms = Math.sqrt(stats.micSumSq / stats.micSamplesSent);
  stats.micPeakRms = Math.max(stats.micPeakRms, rms);
}

// A chunk whose clock is this much later than its run's: the browser dropped microphone input
// before it (its audio thread starved), and the samples after it were captured that much later.
const CLOCK_STEP_MS = 20;
const MAX_CLOCK_STEPS = 256;

/**
 * A chunk of `samples` that ends at captured sample `upTo` reached the page at wall-clock
 * `wallMs`: the earliest such arrival less its audio time is when sample 0 was captured
 * (`micClockMs`), so sample n was captured at micClockMs + n / rate seconds (how far behind it
 * arrives, for tests), until input is dropped. `micClockSteps` holds [first sample, ms] per run
 * of samples between drops: sample n of a run was captured at ms + n / rate.
 */
export function noteMicClock(stats, upTo, wallMs, rate, samples = 0) {
  const zero = wallMs - (upTo * 1000) / rate;
  if (stats.micClockMs === null || zero < stats.micClockMs) stats.micClockMs = zero;
  const steps = stats.micClockSteps;
  const run = steps[steps.length - 1];
  if (!run || zero - run[1] > CLOCK_STEP_MS) {
    if (steps.length < MAX_CLOCK_STEPS) steps.push([upTo - samples, zero]);
  } else if (zero < run[1]) {
    run[1] = zero;
  }
}

export function countFrameSent(stats, bytes, width, height) {
  stats.framesSent += 1;
  stats.lastFrameBytes = bytes;
  stats.maxFrameW = Math.max(stats.maxFrameW, width);
  stats.maxFrameH = Math.max(stats.maxFrameH, height);
}

/** The playback worklet's report ({played, queued, dropped, underruns, playing, level}). */
export function playerReport(stats, s) {
  stats.samplesPlayed = s.played;
  stats.samplesQueued = s.queued;
  stats.samplesDropped = s.dropped;
  stats.underruns = s.underruns;
  stats.playing = s.playing;
  stats.outLevel = s.level;
  stats.outPeak = Math.max(stats.outPeak, s.level);
}

/** A barge-in was asked of the player at `now` (ms); `clockAt` is its audio clock then (s). */
export function flushAsked(stats, id, now, clockAt) {
  stats.interruptions += 1;
  stats.lastFlush = { id, receivedAt: now, clockAt };
}

/** The worklet's answer to a flush arrived at `now` (ms). */
export function flushDone(stats, s, now) {
  playerReport(stats, s);
  const f = stats.lastFlush;
  if (!f || f.id !== s.id) return;
  f.flushedAt = now;
  f.roundTripMs = now - f.receivedAt;
  f.silentAt = s.at; // audio clock time the silence began (before clockAt: already quiet)
  f.audioClockDelayMs = Math.max(0, (s.at - f.clockAt) * 1000);
  f.droppedNow = s.droppedNow;
  f.wasPlaying = s.wasPlaying;
  f.playedAtFlush = s.played;
  f.queuedAfter = s.queued;
  f.playingAfter = s.playing;
}

export function recordLatency(stats, ms) {
  stats.lastLatencyMs = ms;
  stats.latencies.push(ms);
}
