// A client tool call: the session declares a function, the model calls it, the client answers
// with sendToolResponse and the turn completes with what the function returned.
import { Modality, Type } from '@google/genai';
import { Live, client, emit, main } from './lib.mjs';

const getWeather = {
  name: 'get_weather',
  description: 'The weather in a city today.',
  parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ['city'] },
};

await main(async () => {
  const config = {
    responseModalities: [Modality.AUDIO],
    outputAudioTranscription: {},
    tools: [{ functionDeclarations: [getWeather] }],
  };
  const live = await Live.open(client(), config);
  live.session.sendClientContent({
    turns: 'please call get_weather {"city": "Lisbon"}', turnComplete: true });
  const asked = await live.turn({ stopAtToolCall: true });
  emit('toolCall', { calls: asked.toolCalls, turnComplete: asked.turnComplete });
  live.session.sendToolResponse({
    functionResponses: asked.toolCalls.map((c) => ({
      id: c.id, name: c.name, response: { city: c.args?.city ?? null, forecast: 'sunny, 24 C' },
    })),
  });
  emit('turn', await live.turn());
  emit('closed', await live.end());
});
