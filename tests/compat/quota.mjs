// Typed turns until livebus's quota warning arrives, then one more turn: the SDK delivers the
// warning to onmessage like any server message and the session goes on.
import { Modality } from '@google/genai';
import { Live, client, emit, main } from './lib.mjs';

await main(async () => {
  const live = await Live.open(client(), { responseModalities: [Modality.AUDIO] });
  let warning = null;
  for (let i = 0; i < 30 && !warning; i++) {
    live.session.sendClientContent({ turns: `turn ${i} of the quota test`, turnComplete: true });
    for (;;) {
      const msg = await live.next();
      if (msg === null) throw new Error(`closed before the warning: ${JSON.stringify(live.closed)}`);
      if (msg.livebusQuota) warning = msg;
      if (msg.serverContent?.turnComplete) break;
    }
  }
  if (!warning) throw new Error('no quota warning');
  emit('warning', { keys: Object.keys(warning), quota: warning.livebusQuota,
    serverContent: warning.serverContent });
  live.session.sendClientContent({ turns: 'and after the warning', turnComplete: true });
  emit('turn', await live.turn());
  emit('closed', await live.end());
});
