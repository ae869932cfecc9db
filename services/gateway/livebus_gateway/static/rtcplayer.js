// Reply audio over WebRTC: the peer connection's remote track, played by an <audio> element
// (so the browser's echo canceller has it as its reference) and metered on the audio clock by
// a worklet, which reports what Player reports (stats.js) and when a barge-in went quiet.

export const SILENT_RMS = 0.003; // a render quantum below this level counts as silence
const HOLD_MS = 150; // playback stopped = a silence this long began (word gaps are ~60 ms)
const JITTER_POLL_MS = 500; // how often the jitter buffer's delay is read while attached
const TAIL_MARGIN_MS = 40; // decoding and output after the jitter buffer
const TAIL_MAX_MS = 1000;

/** The receiver's jitter buffer: seconds of delay summed over samples emitted (getStats). */
async function jitterSample(receiver) {
  let out = null;
  (await receiver.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out = { delay: r.jitterBufferDelay ?? 0, target: r.jitterBufferTargetDelay ?? 0,
              emitted: r.jitterBufferEmittedCount ?? 0 };
    }
  });
  return out;
}

/** Same interface as audio.Player; `attach(stream)` gives it the remote stream to play. */
export class RtcPlayer {
  constructor({ onStats, onFlushed }) {
    this.onStats = onStats;
    this.onFlushed = onFlushed;
    this.ctx = null;
    this.node = null;
    this.source = null;
    this.stream = null;
    this.receiver = null;
    this.jitter = null; // the last jitterSample
    this.jitterTimer = null;
    this.tailTimer = null;
    this.tailMs = null; // how long the last barge-in silenced the track
    this.flushId = 0;
    this.el = document.createElement("audio");
    this.el.autoplay = true;
    this.el.hidden = true;
  }

  async start() {
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    await this.ctx.audioWorklet.addModule(new URL("./worklets/meter.js", import.meta.url));
    this.node = new AudioWorkletNode(this.ctx, "livebus-meter", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1,
      channelCountMode: "explicit", processorOptions: { silentRms: SILENT_RMS, holdMs: HOLD_MS },
    });
    this.node.port.onmessage = (e) => {
      if (e.data.type === "stats") this.onStats(e.data);
      else if (e.data.type === "flushed") this.onFlushed(e.data);
    };
    // The meter's output is silent (gain 0): the <audio> element is what plays.
    const sink = this.ctx.createGain();
    sink.gain.value = 0;
    this.node.connect(sink).connect(this.ctx.destination);
    document.body.append(this.el);
    if (this.stream) this.attach(this.stream, this.receiver);
    if (this.ctx.state !== "running") await this.ctx.resume();
  }

  /** The remote stream (again after a reconnect): played, and metered; its `receiver`'s
   * jitter buffer sizes what a barge-in silences. */
  attach(stream, receiver = null) {
    this.stream = stream;
    this.receiver = receiver;
    clearInterval(this.jitterTimer);
    this.jitter = null;
    if (receiver) this.jitterTimer = setInterval(() => this.readJitter(), JITTER_POLL_MS);
    if (!this.node) return;
    this.source?.disconnect();
    this.el.srcObject = stream;
    this.el.play().catch(() => {});
    this.source = this.ctx.createMediaStreamSource(stream);
    this.source.connect(this.node);
  }

  push() {} // replies arrive on the track, never as JSON

  drain() {}

  /**
   * Barge-in: the edge dropped its queue, but the browser's jitter buffer still holds up to a
   * few hundred ms of the cut reply. The remote track is disabled (silent) for as long as that
   * buffer delays audio now, then enabled for what comes next; the meter answers when playback
   * went quiet.
   */
  flush() {
    this.flushId += 1;
    this.node?.port.postMessage({ type: "flush", id: this.flushId, at: this.currentTime });
    this.silenceTail().catch(() => {});
    return this.flushId;
  }

  async silenceTail() {
    const track = this.stream?.getAudioTracks()[0];
    if (!track || !this.receiver) return;
    track.enabled = false;
    clearTimeout(this.tailTimer);
    const before = this.jitter;
    const now = await this.readJitter();
    // What the buffer delayed audio by lately, or aimed at if that is more (seconds per sample).
    const n = before && now ? now.emitted - before.emitted : 0;
    const ms = n > 0 ? (Math.max(now.delay - before.delay, now.target - before.target) / n) * 1000
      : TAIL_MAX_MS / 4;
    this.tailMs = Math.min(TAIL_MAX_MS, ms + TAIL_MARGIN_MS);
    this.tailTimer = setTimeout(() => { track.enabled = true; }, this.tailMs);
  }

  async readJitter() {
    const sample = this.receiver ? await jitterSample(this.receiver).catch(() => null) : null;
    if (sample) this.jitter = sample;
    return sample;
  }

  get currentTime() {
    return this.ctx ? this.ctx.currentTime : 0;
  }

  async stop() {
    clearInterval(this.jitterTimer);
    clearTimeout(this.tailTimer);
    this.stream?.getAudioTracks().forEach((t) => { t.enabled = true; });
    this.source?.disconnect();
    this.node?.disconnect();
    if (this.node) this.node.port.onmessage = null;
    this.el.srcObject = null;
    this.el.remove();
    await this.ctx?.close().catch(() => {});
    this.ctx = this.node = this.source = null;
  }
}
