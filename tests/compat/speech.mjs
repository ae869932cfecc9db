// Realtime speech: PCM16 16 kHz from a file, in 20 ms chunks at the pace of a microphone.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Modality } from '@google/genai';
import { Live, client, emit, main } from './lib.mjs';

const CHUNK = 640; // 20 ms at 16 kHz

await main(async () => {
  const pcm = readFileSync(process.argv[2]);
  const config = {
    responseModalities: [Modality.AUDIO],
    inputAudioTranscription: {},
    outputAudioTranscription: {},
    realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 300 } },
  };
  const live = await Live.open(client(), config);
  const t0 = Date.now();
  let sent = 0;
  for (let i = 0; i < pcm.length; i += CHUNK) {
    const data = pcm.subarray(i, i + CHUNK).toString('base64');
    live.session.sendRealtimeInput({ audio: { data, mimeType: 'audio/pcm;rate=16000' } });
    sent += 1;
    await sleep(Math.max(0, t0 + sent * 20 - Date.now()));
  }
  emit('sent', { chunks: sent, bytes: pcm.length });
  emit('turn', await live.turn());
  emit('closed', await live.end());
});
