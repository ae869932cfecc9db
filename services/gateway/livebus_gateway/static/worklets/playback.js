// Reply playback: PCM16 chunks at the context rate (24 kHz) through a small jitter buffer.
// Messages in:  {type:"pcm", pcm:ArrayBuffer} | {type:"drain"} (end of turn: play the tail)
//               {type:"flush"} (barge-in: drop everything queued, now)
// Messages out: {type:"stats", ...} every ~50 ms and on every start/stop;
//               {type:"flushed", ...} answering a flush, with the audio clock time it happened.
// `played` counts samples actually written to the output, so tests can compare it exactly.
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const jitterMs = options.processorOptions?.jitterMs ?? 80;
    this.prebuffer = Math.max(128, Math.round((sampleRate * jitterMs) / 1000));
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    this.playing = false;
    this.draining = false;
    this.received = 0;
    this.played = 0;
    this.dropped = 0;
    this.underruns = 0;
    this.level = 0;
    this.sinceReport = 0;
    this.reportEvery = Math.round(sampleRate * 0.05);
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  onMessage(m) {
    if (m.type === "pcm") {
      const i16 = new Int16Array(m.pcm);
      const f = new Float32Array(i16.length);
      for (let i = 0; i < i16.length; i++) f[i] = i16[i] / 32768;
      this.queue.push(f);
      this.queued += f.length;
      this.received += f.length;
    } else if (m.type === "drain") {
      this.draining = true;
    } else if (m.type === "flush") {
      const dropped = this.queued;
      this.dropped += dropped;
      this.queue = [];
      this.head = 0;
      this.queued = 0;
      this.draining = false;
      const wasPlaying = this.playing;
      this.playing = false;
      this.port.postMessage({ type: "flushed", id: m.id, droppedNow: dropped, wasPlaying,
                              at: currentTime, ...this.snapshot() });
    }
  }

  snapshot() {
    return { played: this.played, queued: this.queued, received: this.received,
             dropped: this.dropped, underruns: this.underruns, playing: this.playing,
             level: this.level };
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    const was = this.playing;
    if (!this.playing && this.queued > 0 && (this.queued >= this.prebuffer || this.draining)) {
      this.playing = true;
    }
    let i = 0;
    let sumSq = 0;
    if (this.playing) {
      while (i < out.length && this.queue.length) {
        const c = this.queue[0];
        const n = Math.min(out.length - i, c.length - this.head);
        out.set(c.subarray(this.head, this.head + n), i);
        i += n;
        this.head += n;
        if (this.head === c.length) {
          this.queue.shift();
          this.head = 0;
        }
      }
      for (let k = 0; k < i; k++) sumSq += out[k] * out[k];
      this.queued -= i;
      this.played += i;
      if (this.queued === 0) {
        // Out of audio: either the turn is over, or the network is late (an underrun).
        if (!this.draining) this.underruns++;
        this.playing = false;
        this.draining = false;
      }
    }
    this.level = i ? Math.sqrt(sumSq / i) : 0;
    this.sinceReport += out.length;
    if (was !== this.playing || this.sinceReport >= this.reportEvery) {
      this.sinceReport = 0;
      this.port.postMessage({ type: "stats", at: currentTime, ...this.snapshot() });
    }
    return true;
  }
}

registerProcessor("livebus-playback", PlaybackProcessor);
