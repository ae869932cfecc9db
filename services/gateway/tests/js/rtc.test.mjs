// rtc.js: transport choice, the WHIP requests, refusals as close codes, and RtcTransport driving
// LiveSession (one fake per seam: RTCPeerConnection, and fetch standing for the edge).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import { CLOSE, LiveSession } from "../../livebus_gateway/static/live.js";
import {
  CHANNEL, RtcTransport, chooseTransport, deleteRequest, edgeClose, iceServers, offerRequest, rtcDialer,
  sessionUrl, statusClose, whipUrl,
} from "../../livebus_gateway/static/rtc.js";

const CONFIG = { webrtc: { whip: "https://edge.example:9443/whip" } };

test("WebRTC only when asked for and the gateway names a WHIP endpoint", () => {
  assert.equal(chooseTransport({ transport: "webrtc" }, CONFIG), "webrtc");
  assert.equal(chooseTransport({ transport: "websocket" }, CONFIG), "websocket");
  for (const config of [null, {}, { webrtc: {} }, { webrtc: { whip: "" } }, { webrtc: { whip: 5 } }]) {
    assert.equal(chooseTransport({ transport: "webrtc" }, config), "websocket", JSON.stringify(config));
  }
  assert.equal(whipUrl(CONFIG), "https://edge.example:9443/whip");
});

test("ICE servers keep only what RTCPeerConnection takes", () => {
  assert.deepEqual(iceServers({ webrtc: { iceServers: [
    { urls: "stun:s.example:3478", extra: 1 },
    { urls: ["turn:t.example:3478?transport=udp"], username: "u", credential: "c" },
    { urls: 5 }, null, "turn:x",
  ] } }), [
    { urls: "stun:s.example:3478" },
    { urls: ["turn:t.example:3478?transport=udp"], username: "u", credential: "c" },
  ]);
  assert.deepEqual(iceServers({ webrtc: { iceServers: "x" } }), []);
  assert.deepEqual(iceServers(null), []);
});

test("the offer is application/sdp with the token as a bearer credential; DELETE keeps alive", () => {
  const r = offerRequest("v=0\r\n", "auth_tokens/t1");
  assert.equal(r.method, "POST");
  assert.deepEqual(r.headers, { "content-type": "application/sdp",
    authorization: "Bearer auth_tokens/t1" });
  assert.equal(r.body, "v=0\r\n");
  assert.equal(r.credentials, "omit", "no cookies go to the edge");
  const d = deleteRequest("auth_tokens/t1");
  assert.equal(d.method, "DELETE");
  assert.equal(d.keepalive, true);
  assert.equal(d.headers.authorization, "Bearer auth_tokens/t1");
});

test("the session URL is the Location resolved against the endpoint", () => {
  const page = "http://127.0.0.1:8080/";
  assert.equal(sessionUrl("https://edge.example/whip", "/whip/abc", page), "https://edge.example/whip/abc");
  assert.equal(sessionUrl("https://edge.example/whip", "https://other.example/s/1", page),
    "https://other.example/s/1");
  assert.equal(sessionUrl("whip", "whip/abc", page), "http://127.0.0.1:8080/whip/abc");
  assert.equal(sessionUrl("https://edge.example/whip", null, page), null);
});

test("a refused offer is the WebSocket close it stands for", () => {
  const k = (status, text) => statusClose(status, text).code;
  assert.equal(k(401), CLOSE.POLICY);
  assert.match(statusClose(401, "token expired").reason, /token.*expired/);
  assert.match(statusClose(403, "").reason, /token/, "a credential problem reads as one");
  assert.equal(k(400, "bad SDP"), CLOSE.INVALID_ARGUMENT);
  assert.equal(k(415), CLOSE.INVALID_ARGUMENT);
  assert.equal(k(413), CLOSE.TOO_BIG);
  assert.equal(k(429), CLOSE.TRY_AGAIN);
  assert.equal(k(503), CLOSE.TRY_AGAIN);
  assert.equal(k(500), CLOSE.INTERNAL);
  assert.equal(statusClose(502, "").reason, "HTTP 502");
  assert.ok(statusClose(400, "x".repeat(5000)).reason.length <= 120, "a long body is cut");
});

test("the edge's livebusClose is its close code; anything else is a server message", () => {
  assert.deepEqual(edgeClose(JSON.stringify({ livebusClose: { code: 1008, reason: "token expired" } })),
    { code: 1008, reason: "token expired" });
  assert.deepEqual(edgeClose('{"livebusClose": {"code": 1001}}'), { code: 1001, reason: "" });
  for (const data of ['{"setupComplete": {}}', '{"livebusClose": {"code": "1000"}}',
    '{"livebusClose": {"code": 99}}', '{"livebusClose": 5}', "livebusClose{", null,
    '{"serverContent": {"outputTranscription": {"text": "livebusClose"}}}']) {
    assert.equal(edgeClose(data), null, String(data));
  }
});

// ---- RtcTransport against a fake peer connection and a fake edge ----------------------------

class FakeChannel {
  constructor(label, options) {
    this.label = label;
    this.options = options;
    this.sent = [];
    this.bufferedAmount = 0;
    this.closed = false;
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.closed = true; }
}

class FakePeer {
  static all = [];
  constructor(config) {
    this.config = config;
    this.transceivers = [];
    this.iceGatheringState = "new";
    this.connectionState = "new";
    this.listeners = {};
    this.sctp = { maxMessageSize: 65536 };
    this.closed = false;
    FakePeer.all.push(this);
  }
  addTransceiver(trackOrKind, init) {
    const t = { trackOrKind, init, sender: { track: typeof trackOrKind === "string" ? null : trackOrKind,
      async replaceTrack(track) { this.track = track; } } };
    this.transceivers.push(t);
    return t;
  }
  createDataChannel(label, options) { this.dc = new FakeChannel(label, options); return this.dc; }
  async createOffer() { return { type: "offer", sdp: "offer-sdp" }; }
  async setLocalDescription(d) {
    this.localDescription = { ...d, sdp: `${d.sdp}+candidates` };
    this.iceGatheringState = "gathering";
    setTimeout(() => {
      this.iceGatheringState = "complete";
      this.listeners.icegatheringstatechange?.();
    }, 10);
  }
  async setRemoteDescription(d) { this.remoteDescription = d; }
  addEventListener(name, fn) { this.listeners[name] = fn; }
  removeEventListener(name) { delete this.listeners[name]; }
  close() { this.closed = true; }
  // what the far end does:
  channelOpens() { this.dc.onopen(); }
  sends(msg) { this.dc.onmessage({ data: JSON.stringify(msg) }); }
  remoteAudio(track) { this.ontrack({ track, streams: [{ id: "s", track }] }); }
}

function fakeEdge(responses) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ...init });
    if (init.method === "DELETE") return { status: 200, text: async () => "", headers: new Map() };
    const [status, body, location] = responses.shift() ?? [201, "answer-sdp", "/whip/s1"];
    return { status, text: async () => body, headers: new Map([["location", location]]) };
  };
  return { calls, fetch };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe("RtcTransport", () => {
  let edge;
  beforeEach(() => {
    FakePeer.all = [];
    globalThis.RTCPeerConnection = FakePeer;
    edge = fakeEdge([]);
    globalThis.fetch = edge.fetch;
    mock.timers.enable({ apis: ["setTimeout"] });
  });
  afterEach(() => mock.timers.reset());

  async function dialed(t) {
    await settle();
    mock.timers.tick(10); // ICE gathering completes
    await settle();
    return t;
  }

  test("offers audio sendrecv, video sendonly and the `gemini` channel; the answer is applied", async () => {
    const mic = { kind: "audio" };
    const streams = [];
    const t = await dialed(new RtcTransport({
      endpoint: "https://edge.example/whip", token: "auth_tokens/t1", base: "http://127.0.0.1:8080/",
      iceServers: [{ urls: "stun:s.example" }], tracks: () => ({ audio: mic, video: null }),
      onStream: (s) => streams.push(s),
    }));
    const pc = FakePeer.all[0];
    assert.deepEqual(pc.config.iceServers, [{ urls: "stun:s.example" }]);
    assert.deepEqual(pc.transceivers.map((x) => [x.trackOrKind, x.init.direction]),
      [[mic, "sendrecv"], ["video", "sendonly"]]);
    assert.equal(pc.dc.label, CHANNEL);
    const [post] = edge.calls;
    assert.equal(post.url, "https://edge.example/whip");
    assert.equal(post.body, "offer-sdp+candidates", "the offer waits for its ICE candidates");
    assert.equal(post.headers.authorization, "Bearer auth_tokens/t1");
    assert.deepEqual(pc.remoteDescription, { type: "answer", sdp: "answer-sdp" });
    assert.equal(t.location, "https://edge.example/whip/s1");
    assert.equal(t.readyState, RtcTransport.CONNECTING);
    pc.remoteAudio({ kind: "audio" });
    assert.equal(streams.length, 1, "the reply stream is handed over for playback");
    const cam = { kind: "video" };
    t.setTrack("video", cam);
    await settle();
    assert.equal(pc.transceivers[1].sender.track, cam, "the camera joins without renegotiating");
  });

  test("a refused offer closes with the matching code, and nothing is deleted", async () => {
    edge = fakeEdge([[401, "token has already been used", null]]);
    globalThis.fetch = edge.fetch;
    const closes = [];
    const t = new RtcTransport({ endpoint: "https://e/whip", token: "t", base: "http://p/" });
    t.onclose = (e) => closes.push(e);
    await dialed(t);
    mock.timers.tick(0);
    assert.equal(closes.length, 1);
    assert.equal(closes[0].code, CLOSE.POLICY);
    assert.match(closes[0].reason, /already been used/);
    assert.equal(FakePeer.all[0].closed, true);
    assert.deepEqual(edge.calls.map((c) => c.method), ["POST"]);
  });

  test("no connection within 15 s is a lost connection; the session is deleted", async () => {
    const closes = [];
    const t = new RtcTransport({ endpoint: "https://e/whip", token: "t", base: "http://p/" });
    t.onclose = (e) => closes.push(e);
    await dialed(t);
    mock.timers.tick(15000);
    mock.timers.tick(0);
    assert.deepEqual(closes.map((c) => c.code), [CLOSE.ABNORMAL]);
    assert.deepEqual(edge.calls.map((c) => [c.method, c.url]),
      [["POST", "https://e/whip"], ["DELETE", "https://e/whip/s1"]]);
  });

  test("livebusClose ends the session with the edge's code and reason", async () => {
    const closes = [];
    const seen = [];
    const t = await dialed(new RtcTransport({ endpoint: "https://e/whip", token: "t", base: "http://p/" }));
    t.onclose = (e) => closes.push(e);
    t.onmessage = (e) => seen.push(e.data);
    FakePeer.all[0].channelOpens();
    FakePeer.all[0].sends({ setupComplete: {} });
    FakePeer.all[0].sends({ livebusClose: { code: 1013, reason: "draining" } });
    mock.timers.tick(0);
    assert.deepEqual(seen, ['{"setupComplete":{}}']);
    assert.deepEqual(closes.map((c) => [c.code, c.reason]), [[1013, "draining"]]);
    assert.equal(FakePeer.all[0].closed, true);
  });

  test("a message larger than the channel takes is refused, not sent", async () => {
    const t = await dialed(new RtcTransport({ endpoint: "https://e/whip", token: "t", base: "http://p/" }));
    FakePeer.all[0].channelOpens();
    assert.equal(t.send(JSON.stringify({ a: "x".repeat(70000) })), false);
    assert.equal(t.send(JSON.stringify({ a: 1 })), true);
    assert.deepEqual(FakePeer.all[0].dc.sent, [{ a: 1 }]);
  });

  test("each connection's peer uses the STUN of /config and the TURN minted with its token", () => {
    const config = { webrtc: { whip: "https://e/whip", iceServers: [{ urls: "stun:s.example" }] } };
    let minted = [{ urls: ["turn:t.example"], username: "1:a", credential: "p1" }];
    const dial = rtcDialer(config, () => ({}), () => {}, () => minted);
    dial("auth_tokens/t1");
    minted = [{ urls: ["turn:t.example"], username: "2:b", credential: "p2" }];
    dial("auth_tokens/t2");
    assert.deepEqual(FakePeer.all.map((pc) => pc.config.iceServers.map((s) => s.username)),
      [[undefined, "1:a"], [undefined, "2:b"]]);
  });

  test("drives LiveSession: setup first on the channel, events, stop deletes the session", async () => {
    const log = { live: 0, text: [], states: [] };
    const s = new LiveSession({
      baseUrl: "http://127.0.0.1:8080",
      getToken: async () => "auth_tokens/t1",
      handlers: { live: () => { log.live += 1; }, outputText: (x) => log.text.push(x),
        state: (st) => log.states.push(st) },
      dial: rtcDialer(CONFIG, () => ({}), () => {}),
    });
    s.start({ model: "models/m", voice: "Puck", system: "" });
    await settle();
    mock.timers.tick(10);
    await settle();
    const pc = FakePeer.all[0];
    assert.equal(edge.calls[0].url, "https://edge.example:9443/whip");
    assert.equal(s.sendText("too early"), false);
    pc.channelOpens();
    assert.equal(pc.dc.sent[0].setup.model, "models/m");
    pc.sends({ setupComplete: {} });
    pc.sends({ serverContent: { outputTranscription: { text: "Hi" } } });
    assert.equal(log.live, 1);
    assert.deepEqual(log.text, ["Hi"]);
    assert.equal(s.sendText("hello"), true);
    pc.sends({ toolCall: { functionCalls: [{ id: "1", name: "f" }] } });
    assert.deepEqual(pc.dc.sent.map((m) => Object.keys(m)[0]), ["setup", "realtime_input",
      "tool_response"]);
    s.stop();
    assert.equal(pc.closed, true);
    assert.deepEqual(edge.calls.map((c) => c.method), ["POST", "DELETE"]);
    assert.deepEqual(log.states, ["connecting", "live", "idle"]);
  });

  test("a channel the edge closes is a lost connection: a new WHIP session resumes", async () => {
    const handles = [];
    const s = new LiveSession({
      baseUrl: "http://127.0.0.1:8080",
      getToken: async (h) => { handles.push(h); return `auth_tokens/t${handles.length}`; },
      handlers: {},
      dial: rtcDialer(CONFIG, () => ({}), () => {}),
    });
    s.start({ model: "m", voice: "Puck", system: "" });
    await settle();
    mock.timers.tick(10);
    await settle();
    const first = FakePeer.all[0];
    first.channelOpens();
    first.sends({ setupComplete: {} });
    first.sends({ sessionResumptionUpdate: { newHandle: "h1", resumable: true } });
    first.dc.onclose();
    mock.timers.tick(0);
    mock.timers.tick(20000); // the backoff
    await settle();
    mock.timers.tick(10);
    await settle();
    assert.equal(FakePeer.all.length, 2);
    assert.deepEqual(handles, [null, "h1"]);
    assert.equal(edge.calls.at(-1).headers.authorization, "Bearer auth_tokens/t2");
    FakePeer.all[1].channelOpens();
    assert.deepEqual(FakePeer.all[1].dc.sent[0].setup.sessionResumption, { handle: "h1" });
    s.stop();
  });
});
