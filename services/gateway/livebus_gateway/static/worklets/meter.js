// Meters reply audio from the WebRTC track (it plays through an <audio> element, not here).
// Messages in:  {type:"flush", id, at} (a barge-in asked at audio clock time `at`)
// Messages out: {type:"stats", ...} every ~50 ms and whenever audible changes, like the
//               playback worklet's; {type:"flushed", id, at, ...} once, after a flush, when a
//               silence has lasted holdMs: `at` is when that silence began on the audio clock
//               (a reply's gaps between words are shorter than holdMs).
// `played` counts audible samples (render quanta above silentRms).
class MeterProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.silentRms = options.processorOptions?.silentRms ?? 0.003;
    this.hold = (options.processorOptions?.holdMs ?? 150) / 1000;
    this.silentSince = currentTime;
    this.played = 0;
    this.playing = false;
    this.level = 0;
    this.peak = 0;
    this.flush = null;
    this.sinceReport = 0;
    this.reportEvery = Math.round(sampleRate * 0.05);
    this.port.onmessage = (e) => {
      // Playing: audible now, or in a silence shorter than the hold (a gap between words).
      if (e.data.type === "flush") {
        this.flush = { id: e.data.id, wasPlaying: this.playing
          || (this.silentSince !== null && currentTime - this.silentSince < this.hold) };
      }
    };
  }

  snapshot() {
    return { played: this.played, queued: 0, received: this.played, dropped: 0, underruns: 0,
             playing: this.playing, level: this.level, peak: this.peak };
  }

  process(inputs) {
    const input = inputs[0]?.[0];
    const n = input?.length ?? 128;
    let sumSq = 0;
    for (let i = 0; input && i < n; i++) sumSq += input[i] * input[i];
    this.level = input ? Math.sqrt(sumSq / n) : 0;
    const was = this.playing;
    this.playing = this.level >= this.silentRms;
    if (this.playing) {
      this.played += n;
      this.peak = Math.max(this.peak, this.level);
      this.silentSince = null;
    } else if (this.silentSince === null) {
      this.silentSince = currentTime;
    }
    if (this.flush && this.silentSince !== null && currentTime - this.silentSince >= this.hold) {
      this.port.postMessage({ type: "flushed", id: this.flush.id, wasPlaying: this.flush.wasPlaying,
                              droppedNow: 0, at: this.silentSince, ...this.snapshot() });
      this.flush = null;
    }
    this.sinceReport += n;
    if (was !== this.playing || this.sinceReport >= this.reportEvery) {
      this.sinceReport = 0;
      this.port.postMessage({ type: "stats", at: currentTime, ...this.snapshot() });
    }
    return true;
  }
}

registerProcessor("livebus-meter", MeterProcessor);
