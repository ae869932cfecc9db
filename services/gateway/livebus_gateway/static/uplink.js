// The uplink's congestion (pure), from the gateway's acknowledgements ({"livebusAck":
// {"received": n}}: n messages of this connection read so far, setup included). A slow uplink
// queues in the kernel's socket buffer, where `bufferedAmount` never sees it; what was sent
// and not yet acknowledged is that queue. Camera frames are sized and spaced so that one frame
// holds the audio behind it at most FRAME_DELAY_MS: frame rate and quality go down first, then
// video stops before the audio falls behind; a probe frame now and then finds a faster link.

export const FRAME_DELAY_MS = 100; // a frame may hold the audio queued behind it this long
export const STALE_MS = 150; // the oldest unacknowledged message this much late: no frames
export const VIDEO_SHARE = 0.3; // frames are spaced to use at most this share of the spare rate
export const RECOVER_MS = 1000; // the queue a frame leaves drains within this, beside the rest
// With video stopped, one smallest frame (a probe) this often, and only on a drained queue; each
// probe that fails doubles the wait (up to MAX_PROBE_MS), one that succeeds starts video again.
export const PROBE_MS = 5000;
export const MAX_PROBE_MS = 60000;
const QUIET_MS = 20;
// A frame's effect is watched at least this long: a burst allowance lets the frame itself through
// at once and makes the messages after it pay.
const SETTLE_MS = 200;
// A rate is measured over at least this much: a link's burst allowance (a token bucket, Wi-Fi
// aggregation) lets a small message through at once, which says nothing of its rate.
const MIN_SAMPLE_BYTES = 6000;
const RATE_WINDOW_MS = 4000; // the link's rate is the best sample this recent
const SEND_WINDOW_MS = 2000; // what else the page sends is measured over this
const UPGRADE_AFTER = 2; // frames in a row well within the budget before quality goes up
// Frame size and JPEG quality, best first. The page starts low and climbs.
export const LEVELS = [
  { maxSide: 512, quality: 0.75 }, { maxSide: 512, quality: 0.6 },
  { maxSide: 384, quality: 0.55 }, { maxSide: 320, quality: 0.5 },
  { maxSide: 256, quality: 0.45 }, { maxSide: 192, quality: 0.4 },
];
export const START_LEVEL = 4;

export class Uplink {
  constructor() {
    // Unacknowledged messages: {at, end, from, fromAt}: sent at `at`, `end` bytes sent up to
    // it; `from` bytes were acknowledged then and the oldest unacknowledged was sent `fromAt`.
    this.queue = [];
    this.sentMsgs = 0;
    this.sentBytes = 0;
    this.ackedMsgs = 0;
    this.ackedBytes = 0;
    this.acks = 0; // 0: the server sends none (not livebus, or an older gateway)
    this.baseMs = Infinity; // the shortest time from a send to its acknowledgement
    this.samples = []; // {at, rate}: delivery rates (bytes/ms), each at most the link's
    this.recent = []; // {at, bytes, frame}: what was sent in the last SEND_WINDOW_MS
    // The last frame's effect, from its send until the queue has drained: {seq, at, peakMs}
    // (peakMs: the longest any message from the frame on took to be acknowledged).
    this.episode = null;
    this.framePending = false; // the next message sent is the frame frameReady let through
    this.level = START_LEVEL;
    this.fits = 0;
    this.lastFrameAt = -Infinity;
    this.lastFrameBytes = 0;
    this.lastFramePeakMs = null; // what the last frame did (endEpisode)
    this.lastDrainMs = null;
    this.paused = false; // video stopped: not even the smallest frame fits
    this.probeMs = PROBE_MS;
  }

  /** A message of `bytes` was handed to the socket at `now` (ms). */
  sent(now, bytes) {
    const fromAt = this.queue.length ? this.queue[0].at : now;
    this.sentMsgs += 1;
    this.sentBytes += bytes;
    this.queue.push({ at: now, end: this.sentBytes, from: this.ackedBytes, fromAt });
    if (this.framePending) this.episode = { seq: this.sentMsgs, at: now, peakMs: 0 };
    this.recent.push({ at: now, bytes, frame: this.framePending });
    this.framePending = false;
    while (this.recent[0].at < now - SEND_WINDOW_MS) this.recent.shift();
  }

  /** The gateway says it has read `received` messages. */
  acked(now, received) {
    const n = Math.min(Math.floor(Number(received)), this.sentMsgs) - this.ackedMsgs;
    if (!(n > 0)) return;
    this.acks += 1;
    const batch = this.queue.splice(0, n);
    const last = batch.at(-1);
    const e = this.episode;
    if (e && this.ackedMsgs + n >= e.seq) {
      const first = batch[Math.max(0, e.seq - this.ackedMsgs - 1)]; // the oldest from the frame on
      e.peakMs = Math.max(e.peakMs, now - first.at);
    }
    this.ackedMsgs += n;
    this.ackedBytes = last.end;
    this.baseMs = Math.min(this.baseMs, now - last.at);
    // Everything from `from` to `end` crossed the link since `fromAt` (none of it was sent
    // earlier): about the link's rate while the link was kept busy, less when it was not.
    if (now > last.fromAt && last.end - last.from >= MIN_SAMPLE_BYTES) {
      this.samples.push({ at: now, rate: (last.end - last.from) / (now - last.fromAt) });
    }
    while (this.samples.length > 1 && this.samples[0].at < now - RATE_WINDOW_MS) {
      this.samples.shift();
    }
    // Drained: a message sent a while after the frame went through as fast as any does.
    if (e && last.at - e.at >= SETTLE_MS && now - last.at <= this.baseMs + QUIET_MS) {
      this.endEpisode(now - e.at);
    }
    this.giveUp(now);
  }

  /** A frame's queue that does not drain: the audio has no room for video beside it. */
  giveUp(now) {
    if (this.episode && now - this.episode.at > 2 * RECOVER_MS) this.endEpisode(Infinity);
  }

  endEpisode(drainMs) {
    this.lastFramePeakMs = this.episode.peakMs;
    this.lastDrainMs = drainMs;
    this.frameDelivered(this.episode.peakMs, drainMs);
    this.episode = null;
  }

  /**
   * What a frame did: the audio behind it waited up to `peakMs`, its queue drained in
   * `drainMs`. Within budget, video goes on (and quality may climb); else the next frame is
   * smaller, and below the smallest, video stops (probes back off).
   */
  frameDelivered(peakMs, drainMs) {
    if (peakMs <= FRAME_DELAY_MS && drainMs <= RECOVER_MS) {
      this.paused = false;
      this.probeMs = PROBE_MS;
      if (peakMs <= 0.4 * FRAME_DELAY_MS && this.level > 0 && ++this.fits >= UPGRADE_AFTER) {
        this.level -= 1;
        this.fits = 0;
      }
      return;
    }
    this.fits = 0;
    if (!this.paused && this.level < LEVELS.length - 1) this.level += 1;
    else if (this.paused) this.probeMs = Math.min(2 * this.probeMs, MAX_PROBE_MS);
    else this.paused = true;
  }

  /** The link's rate in bytes/ms (null until enough crossed it to tell). */
  get rate() {
    if (!this.samples.length) return null;
    return Math.max(...this.samples.map((s) => s.rate));
  }

  /** What the page sends besides camera frames (audio, text), in bytes/ms. */
  otherRate() {
    let bytes = 0;
    for (const r of this.recent) if (!r.frame) bytes += r.bytes;
    return bytes / SEND_WINDOW_MS;
  }

  /** How late the oldest unacknowledged message is, beyond the usual round trip (ms). */
  lateMs(now) {
    if (!this.queue.length || this.baseMs === Infinity) return 0;
    return Math.max(0, now - this.queue[0].at - this.baseMs);
  }

  /** Whether to take (and encode) a camera frame now; false also spaces frames out. */
  wantFrame(now) {
    this.giveUp(now);
    if (!this.acks || this.lateMs(now) > STALE_MS || this.episode) return false;
    if (this.paused) return this.lateMs(now) < QUIET_MS && now - this.lastFrameAt >= this.probeMs;
    const rate = this.rate;
    const spare = rate === null ? Infinity : rate - this.otherRate();
    // No room by the estimate (a lower bound, low on a busy machine): the probe's cadence; what
    // the frame does to the audio then decides.
    if (spare <= 0) return now - this.lastFrameAt >= this.probeMs;
    return now - this.lastFrameAt >= this.lastFrameBytes / (VIDEO_SHARE * spare);
  }

  /** The shape the next frame is taken at ({maxSide, quality}). */
  get shape() {
    return LEVELS[this.level];
  }

  /**
   * An encoded frame of `bytes` (as sent) is ready: true to send it. One that would hold the
   * audio too long at the link's rate is dropped
   * (and the next one is smaller if it is the frame, not the queue, that is too big).
   */
  frameReady(now, bytes) {
    const rate = this.rate;
    if (rate !== null && !this.paused) {
      const delay = (this.sentBytes - this.ackedBytes + bytes) / rate;
      const budget = rate * FRAME_DELAY_MS; // the drain is measured (endEpisode), not guessed
      if (delay > FRAME_DELAY_MS || bytes > budget) {
        this.fits = 0;
        if (bytes > 0.75 * budget && this.level < LEVELS.length - 1) this.level += 1;
        else if (bytes > 0.75 * budget) this.paused = true; // not even the smallest fits
        return false;
      }
    }
    this.framePending = true; // when paused, a probe: its acknowledgement says what follows
    this.lastFrameAt = now;
    this.lastFrameBytes = bytes;
    return true;
  }

  /** For stats: what the page knows of its uplink. */
  report(now) {
    const rate = this.rate;
    return {
      acked: this.acks > 0, rateKbps: rate === null ? null : Math.round(rate * 8),
      lateMs: Math.round(this.lateMs(now)), backlogBytes: this.sentBytes - this.ackedBytes,
      level: this.level, paused: this.paused, lastFramePeakMs: this.lastFramePeakMs,
      lastDrainMs: this.lastDrainMs,
    };
  }
}
