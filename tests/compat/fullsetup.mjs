// Every LiveConnectConfig field @google/genai serialises for the Developer API, set at once: the
// gateway accepts the setup (or refuses it with a named reason) and the emulator receives it.
import WebSocket from 'ws';
import { Live, client, emit, main } from './lib.mjs';

// What the SDK put on the wire: its first frame is the setup.
const sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data, ...rest) {
  sent.push(String(data));
  return send.call(this, data, ...rest);
};

const CONFIG = {
  responseModalities: ['AUDIO'],
  temperature: 0.7, topP: 0.9, topK: 40, maxOutputTokens: 512, seed: 7,
  mediaResolution: 'MEDIA_RESOLUTION_LOW',
  speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } }, languageCode: 'en-US' },
  thinkingConfig: { thinkingBudget: 0, includeThoughts: false },
  enableAffectiveDialog: true,
  systemInstruction: 'be brief',
  tools: [{ functionDeclarations: [{ name: 'get_time', description: 'the time' }] }],
  sessionResumption: {},
  inputAudioTranscription: {},
  outputAudioTranscription: {},
  realtimeInputConfig: {
    automaticActivityDetection: { disabled: false, startOfSpeechSensitivity: 'START_SENSITIVITY_HIGH',
      endOfSpeechSensitivity: 'END_SENSITIVITY_LOW', prefixPaddingMs: 20, silenceDurationMs: 300 },
    activityHandling: 'START_OF_ACTIVITY_INTERRUPTS',
    turnCoverage: 'TURN_INCLUDES_ONLY_ACTIVITY',
  },
  contextWindowCompression: { triggerTokens: '25600', slidingWindow: { targetTokens: '12800' } },
  proactivity: { proactiveAudio: true },
  safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }],
  translationConfig: { targetLanguageCode: 'fr' },
  avatarConfig: {},
};

await main(async () => {
  if (process.argv[2] === '--fields') return emit('fields', { fields: Object.keys(CONFIG) });
  const only = process.argv[2];
  const config = only ? { responseModalities: ['AUDIO'], [only]: CONFIG[only] } : CONFIG;
  try {
    const opening = Live.open(client(), config);
    const live = await opening.finally(() => emit('wire', { setup: JSON.parse(sent[0]).setup }));
    emit('opened', { fields: Object.keys(config) });
    emit('closed', await live.end());
  } catch (e) {
    emit('refused', { code: e.code ?? null, reason: e.reason ?? String(e.message) });
  }
});
