// Microphone audio kept while connecting, sent once the session is live (pure).

export function newPreroll() {
  return { chunks: [], samples: 0 };
}

/** Keep a chunk; the oldest go once more than `maxSamples` are kept. */
export function keep(preroll, pcm, rms, maxSamples) {
  preroll.chunks.push([pcm, rms]);
  preroll.samples += pcm.length;
  while (preroll.samples > maxSamples && preroll.chunks.length) {
    preroll.samples -= preroll.chunks.shift()[0].length;
  }
}

/** Everything kept, oldest first; the preroll is empty afterwards. */
export function take(preroll) {
  const chunks = preroll.chunks;
  preroll.chunks = [];
  preroll.samples = 0;
  return chunks;
}
