// A typed turn: sendClientContent, the reply as audio with its transcription.
import { Modality } from '@google/genai';
import { Live, client, emit, main } from './lib.mjs';

await main(async () => {
  const config = { responseModalities: [Modality.AUDIO], outputAudioTranscription: {} };
  const live = await Live.open(client(), config);
  live.session.sendClientContent({ turns: 'hello from the js sdk', turnComplete: true });
  emit('turn', await live.turn());
  emit('closed', await live.end());
});
