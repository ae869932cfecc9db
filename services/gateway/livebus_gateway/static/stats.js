// What the page counts (window.livebus.stats; docs/web-client.md lists every field). Pure.

export function newStats() {
  return {
    micChunksSent: 0, micSamplesSent: 0, micSamplesCaptured: 0, micRms: 0, micPeakRms: 0,
    micLevel: 0, micSumSq: 0, micPrerollSent: 0, micClockMs: null,
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

/**
 * A chunk that ends at captured sample `upTo` reached the page at wall-clock `wallMs`: the
 * earliest such arrival less its audio time is when sample 0 was captured (`micClockMs`), so
 * sample n was captured at micClockMs + n / rate seconds (how far behind it arrives, for tests).
 */
export function noteMicClock(stats, upTo, wallMs, rate) {
  const zero = wallMs - (upTo * 1000) / rate;
  if (stats.micClockMs === null || zero < stats.micClockMs) stats.micClockMs = zero;
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
