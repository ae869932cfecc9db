// Microphone capture: float samples at the context rate (16 kHz) -> PCM16 chunks of `chunkMs`.
// Each chunk is posted (transferred) with its RMS so the page can gate speech and show a level.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const chunkMs = options.processorOptions?.chunkMs ?? 40;
    this.size = Math.max(1, Math.round((sampleRate * chunkMs) / 1000));
    this.buf = new Int16Array(this.size);
    this.n = 0;
    this.sumSq = 0;
  }

  process(inputs) {
    const ch = inputs[0]?.[0];
    if (!ch) return true; // input not connected yet
    for (let i = 0; i < ch.length; i++) {
      const s = ch[i] > 1 ? 1 : ch[i] < -1 ? -1 : ch[i];
      this.sumSq += s * s;
      this.buf[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.n === this.size) this.emit();
    }
    return true;
  }

  emit() {
    const pcm = this.buf.slice(0, this.n);
    const rms = Math.sqrt(this.sumSq / this.n);
    this.port.postMessage({ pcm: pcm.buffer, rms, t: currentTime }, [pcm.buffer]);
    this.n = 0;
    this.sumSq = 0;
  }
}

registerProcessor("livebus-capture", CaptureProcessor);
