// Microphone capture (16 kHz PCM16 chunks) and reply playback (24 kHz PCM16, jitter buffer).

export const MIC_RATE = 16000;
export const SPEAKER_RATE = 24000;

/** Captures the microphone track of `stream` through an AudioWorklet at 16 kHz. */
export class MicCapture {
  constructor({ chunkMs = 40, onChunk }) {
    this.chunkMs = chunkMs;
    this.onChunk = onChunk; // (Int16Array, rms, captureTimeMs) => void
    this.ctx = null;
    this.node = null;
    this.source = null;
  }

  async start(stream) {
    // The context resamples the device rate (usually 48 kHz) to 16 kHz for us.
    this.ctx = new AudioContext({ sampleRate: MIC_RATE, latencyHint: "interactive" });
    await this.ctx.audioWorklet.addModule(new URL("./worklets/capture.js", import.meta.url));
    this.source = this.ctx.createMediaStreamSource(stream);
    this.node = new AudioWorkletNode(this.ctx, "livebus-capture", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1,
      channelCountMode: "explicit", processorOptions: { chunkMs: this.chunkMs },
    });
    this.node.port.onmessage = (e) => this.onChunk(new Int16Array(e.data.pcm), e.data.rms,
      performance.now());
    // A muted sink keeps the node pulled by the graph without playing the mic back.
    const sink = this.ctx.createGain();
    sink.gain.value = 0;
    this.source.connect(this.node).connect(sink).connect(this.ctx.destination);
    if (this.ctx.state !== "running") await this.ctx.resume();
  }

  async stop() {
    this.source?.disconnect();
    this.node?.disconnect();
    if (this.node) this.node.port.onmessage = null;
    await this.ctx?.close().catch(() => {});
    this.ctx = this.node = this.source = null;
  }
}

/** Plays 24 kHz PCM16 chunks; `flush()` drops everything queued at once (barge-in). */
export class Player {
  constructor({ jitterMs = 80, onStats, onFlushed }) {
    this.jitterMs = jitterMs;
    this.onStats = onStats;
    this.onFlushed = onFlushed;
    this.ctx = null;
    this.node = null;
    this.flushId = 0;
  }

  async start() {
    this.ctx = new AudioContext({ sampleRate: SPEAKER_RATE, latencyHint: "interactive" });
    await this.ctx.audioWorklet.addModule(new URL("./worklets/playback.js", import.meta.url));
    this.node = new AudioWorkletNode(this.ctx, "livebus-playback", {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1],
      processorOptions: { jitterMs: this.jitterMs },
    });
    this.node.port.onmessage = (e) => {
      if (e.data.type === "stats") this.onStats(e.data);
      else if (e.data.type === "flushed") this.onFlushed(e.data);
    };
    this.node.connect(this.ctx.destination);
    if (this.ctx.state !== "running") await this.ctx.resume();
  }

  /** Queue PCM16 bytes (a Uint8Array straight from base64). */
  push(bytes) {
    if (!this.node) return;
    const even = bytes.byteLength & ~1;
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + even);
    this.node.port.postMessage({ type: "pcm", pcm: copy }, [copy]);
  }

  drain() {
    this.node?.port.postMessage({ type: "drain" });
  }

  flush() {
    this.flushId += 1;
    this.node?.port.postMessage({ type: "flush", id: this.flushId });
    return this.flushId;
  }

  get currentTime() {
    return this.ctx ? this.ctx.currentTime : 0;
  }

  async stop() {
    this.node?.disconnect();
    if (this.node) this.node.port.onmessage = null;
    await this.ctx?.close().catch(() => {});
    this.ctx = this.node = null;
  }
}
