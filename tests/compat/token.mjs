// An ephemeral token: minted with the server key via ai.authTokens.create (v1alpha), used once
// by a client that knows only the token, then refused when it is used again.
import { Modality } from '@google/genai';
import { Live, client, emit, main } from './lib.mjs';

const minutes = (n) => new Date(Date.now() + n * 60_000).toISOString();

await main(async () => {
  const backend = client(undefined, 'v1alpha');
  const token = await backend.authTokens.create({
    config: { uses: 1, expireTime: minutes(30), newSessionExpireTime: minutes(1) },
  });
  emit('minted', { prefix: token.name.split('/')[0] + '/', length: token.name.length });

  const config = { responseModalities: [Modality.AUDIO], outputAudioTranscription: {} };
  const first = await Live.open(client(token.name, 'v1alpha'), config);
  first.session.sendClientContent({ turns: 'hello with a token', turnComplete: true });
  emit('turn', await first.turn());
  emit('closed', await first.end());

  try {
    const again = await Live.open(client(token.name, 'v1alpha'), config);
    emit('reused', { opened: true });
    emit('closed', await again.end());
  } catch (e) {
    emit('refused', { code: e.code ?? null, reason: e.reason ?? String(e.message) });
  }
});
