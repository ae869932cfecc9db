// Video frames: JPEG files sent with sendRealtimeInput({video}) at a camera's pace, then a typed
// question (sendRealtimeInput({text})); the reply says how many frames reached the model.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Modality } from '@google/genai';
import { Live, client, emit, main } from './lib.mjs';

const FPS = Number(process.env.LIVEBUS_FPS || 5);

await main(async () => {
  const frames = process.argv.slice(2).map((p) => readFileSync(p));
  const config = { responseModalities: [Modality.AUDIO], outputAudioTranscription: {} };
  const live = await Live.open(client(), config);
  for (const jpeg of frames) {
    live.session.sendRealtimeInput({ video: { data: jpeg.toString('base64'), mimeType: 'image/jpeg' } });
    await sleep(1000 / FPS);
  }
  await sleep(500); // the sampler forwards the last frame it holds
  emit('sent', { frames: frames.length, bytes: frames.reduce((n, f) => n + f.length, 0) });
  live.session.sendRealtimeInput({ text: 'what do you see?' });
  emit('turn', await live.turn());
  emit('closed', await live.end());
});
