// The page's one state object. It is also `window.livebus`, for tests and the console
// (docs/web-client.md, "Test hooks"); modules read and change it, and keep nothing of their own.

import { newLatency } from "./latency.js";
import { newPreroll } from "./preroll.js";
import { isOff, loadSettings } from "./settings.js";
import { newStats } from "./stats.js";
import { newTalk } from "./talk.js";
import { newCursor } from "./transcript.js";

const params = new URLSearchParams(location.search);

export const app = {
  params,
  ready: false, // true once /config has been read
  state: "idle", // idle | connecting | live | reconnecting | error
  config: null, // GET /config
  tokenIceServers: [], // TURN credentials that came with the newest token
  settings: loadSettings(localStorage, params),
  stats: newStats(),
  transcript: [], // entries {role: "user"|"model", text, kind, image, interrupted}
  cursor: newCursor(), // where transcription fragments go
  notices: [], // {kind, text, at}
  closes: [], // {code, reason, kind, wasLive}
  mic: { wanted: !isOff(params.get("mic") ?? "on"), stream: null, capture: null },
  cam: { wanted: !isOff(params.get("camera") ?? "on"), track: null, paused: false },
  player: null, // audio.Player
  sampler: null, // camera.FrameSampler
  session: null, // live.LiveSession
  transport: "websocket", // of the conversation under way: "websocket" | "webrtc" (rtc.js)
  preroll: newPreroll(),
  talk: newTalk(), // push-to-talk: who holds the control ({holders, turns})
  latency: newLatency(),
  attachment: null, // {blob, width, height, url, name}: the image the composer will send
  timers: { notice: null, caption: null },
};
