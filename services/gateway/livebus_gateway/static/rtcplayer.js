// Reply audio over WebRTC: the peer connection's remote track, played by an <audio> element
// (so the browser's echo canceller has it as its reference) and metered on the audio clock by
// a worklet, which reports what Player reports (stats.js) and when a barge-in went quiet.

export const SILENT_RMS = 0.003; // a render quantum below this level counts as silence
const HOLD_MS = 150; // playback stopped = a silence this long began (word gaps are ~60 ms)

/** Same interface as audio.Player; `attach(stream)` gives it the remote stream to play. */
export class RtcPlayer {
  constructor({ onStats, onFlushed }) {
    this.onStats = onStats;
    this.onFlushed = onFlushed;
    this.ctx = null;
    this.node = null;
    this.source = null;
    this.stream = null;
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
    if (this.stream) this.attach(this.stream);
    if (this.ctx.state !== "running") await this.ctx.resume();
  }

  /** The remote stream (again after a reconnect): played, and metered. */
  attach(stream) {
    this.stream = stream;
    if (!this.node) return;
    this.source?.disconnect();
    this.el.srcObject = stream;
    this.el.play().catch(() => {});
    this.source = this.ctx.createMediaStreamSource(stream);
    this.source.connect(this.node);
  }

  push() {} // replies arrive on the track, never as JSON

  drain() {}

  /** Barge-in: the edge dropped its queue; the meter answers when playback went quiet. */
  flush() {
    this.flushId += 1;
    this.node?.port.postMessage({ type: "flush", id: this.flushId, at: this.currentTime });
    return this.flushId;
  }

  get currentTime() {
    return this.ctx ? this.ctx.currentTime : 0;
  }

  async stop() {
    this.source?.disconnect();
    this.node?.disconnect();
    if (this.node) this.node.port.onmessage = null;
    this.el.srcObject = null;
    this.el.remove();
    await this.ctx?.close().catch(() => {});
    this.ctx = this.node = this.source = null;
  }
}
