// Resumption: a session asks for handles, the socket drops with no close frame (a network blip,
// 1006), and a new connection resumes with the last handle; the model still has the context.
import { Modality } from '@google/genai';
import { Live, client, emit, main } from './lib.mjs';

const base = { responseModalities: [Modality.AUDIO], outputAudioTranscription: {} };

async function ask(live, text) {
  live.session.sendClientContent({ turns: text, turnComplete: true });
  const turn = await live.turn();
  const handle = turn.handles.at(-1) ?? await live.handle();
  return { ...turn, handle };
}

await main(async () => {
  const first = await Live.open(client(), { ...base, sessionResumption: {} });
  const said = await ask(first, 'remember the red kite');
  emit('first', { turn: said, order: first.order });
  first.session.conn.ws.terminate(); // the TCP connection goes, no close frame
  emit('dropped', await first.closedPromise);

  const fresh = await Live.open(client(), base);
  fresh.session.sendClientContent({ turns: 'what did I say?', turnComplete: true });
  emit('fresh', { turn: await fresh.turn() });
  await fresh.end();

  const resumed = await Live.open(client(), { ...base, sessionResumption: { handle: said.handle } });
  const again = await ask(resumed, 'what did I say?');
  emit('resumed', { turn: again, order: resumed.order });
  emit('closed', await resumed.end());
});
