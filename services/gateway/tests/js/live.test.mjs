// live.js: server messages, close codes, the setup message, and LiveSession's reconnect policy
// (with one fake: a WebSocket that records what is sent and closes when told).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import {
  CLOSE, LiveSession, backoffMs, buildSetup, describeClose, serverEvents, toolErrorResponse,
} from "../../livebus_gateway/static/live.js";

test("server messages become events in order; audio is decoded; unknown fields ignored", () => {
  const pcm = Buffer.from([1, 0, 2, 0]).toString("base64");
  const events = serverEvents({
    serverContent: {
      interrupted: true,
      inputTranscription: { text: " hello" },
      modelTurn: { parts: [
        { inlineData: { mimeType: "audio/pcm;rate=24000", data: pcm } },
        { inline_data: { mime_type: "image/png", data: pcm } },
        { text: "thinking" },
        null,
      ] },
      outputTranscription: { text: "Hi" },
      generationComplete: true,
      turnComplete: true,
    },
    usageMetadata: { totalTokenCount: 3 },
    somethingNew: { x: 1 },
  });
  assert.deepEqual(events.map(([e]) => e),
    ["interrupted", "inputText", "audio", "outputText", "generationComplete", "turnComplete"]);
  const [, bytes, mime] = events[2];
  assert.deepEqual([...bytes], [1, 0, 2, 0]);
  assert.equal(mime, "audio/pcm;rate=24000");
  assert.deepEqual(events[5][1], { totalTokenCount: 3 });
});

test("setupComplete, toolCall and hostile shapes", () => {
  assert.deepEqual(serverEvents({ setupComplete: {} }), [["live"]]);
  assert.deepEqual(serverEvents({ toolCall: { functionCalls: [] } }),
    [["toolCall", { functionCalls: [] }]]);
  for (const msg of [null, 3, "x", [], { serverContent: "x" }, { serverContent: { modelTurn: {
    parts: "nope" } } }, { serverContent: { inputTranscription: { text: 5 } } }]) {
    assert.deepEqual(serverEvents(msg), [], JSON.stringify(msg));
  }
  // A goAway is the bridge's business (it moves the session upstream): the page ignores it.
  assert.deepEqual(serverEvents({ goAway: { timeLeft: "5s" } }), []);
});

test("every tool call is answered with an error (the page has no tools)", () => {
  assert.deepEqual(toolErrorResponse({ functionCalls: [{ id: "a", name: "f", args: {} }] }),
    { tool_response: { functionResponses: [
      { id: "a", name: "f", response: { error: "this client has no tools" } }] } });
  assert.deepEqual(toolErrorResponse({ functionCalls: "x" }),
    { tool_response: { functionResponses: [] } });
});

test("close codes: what the person is told and whether to retry", () => {
  const k = (code, reason = "") => [describeClose(code, reason).kind, describeClose(code, reason).retry];
  assert.deepEqual(k(CLOSE.NORMAL), ["ended", false]);
  assert.deepEqual(k(1008, "token expired"), ["token", true]);
  assert.deepEqual(k(1008, "token has already been used"), ["token", true]);
  assert.deepEqual(k(1008, "rate limit exceeded"), ["refused", false]);
  assert.deepEqual(k(1007, "bad"), ["refused", false]);
  assert.deepEqual(k(1013), ["busy", true]);
  assert.deepEqual(k(1011), ["lost", true]);
  assert.deepEqual(k(1001), ["lost", true]);
  assert.deepEqual(k(1006), ["lost", true]);
  assert.match(describeClose(1007, "model x is not available").text, /not available/);
});

test("backoff doubles from 0.5 s to 15 s with +-20% jitter", () => {
  for (const [attempt, base] of [[0, 500], [1, 1000], [2, 2000], [5, 15000], [9, 15000]]) {
    for (let i = 0; i < 20; i++) {
      const ms = backoffMs(attempt);
      assert.ok(ms >= 0.8 * base && ms <= 1.2 * base, `${attempt}: ${ms}`);
    }
  }
});

test("the setup message", () => {
  const { setup } = buildSetup({ model: "models/m", voice: "Kore", system: "  be brief " });
  assert.equal(setup.model, "models/m");
  assert.equal(setup.generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName, "Kore");
  assert.deepEqual(setup.systemInstruction, { parts: [{ text: "be brief" }] });
  assert.deepEqual(setup.generationConfig.responseModalities, ["AUDIO"]);
  assert.equal(buildSetup({ model: "m", voice: "Puck", system: "   " }).setup.systemInstruction,
    undefined);
  assert.deepEqual(setup.sessionResumption, {}, "the page always asks for resumption handles");
  assert.deepEqual(buildSetup({ model: "m", voice: "Puck" }, "h1").setup.sessionResumption,
    { handle: "h1" });
});

test("push-to-talk disables the upstream's activity detection; otherwise it stays on", () => {
  const aad = (s) => buildSetup({ model: "m", voice: "Puck", ...s }).setup.realtimeInputConfig;
  assert.deepEqual(aad({ pushToTalk: true }).automaticActivityDetection, { disabled: true });
  assert.deepEqual(aad({ pushToTalk: false }).automaticActivityDetection, { disabled: false });
  assert.deepEqual(aad({}).automaticActivityDetection, { disabled: false });
  assert.equal(aad({ pushToTalk: true }).activityHandling, "START_OF_ACTIVITY_INTERRUPTS");
});

test("a resumable sessionResumptionUpdate carries the new handle; others carry none", () => {
  assert.deepEqual(serverEvents({ sessionResumptionUpdate: { newHandle: "h2", resumable: true } }),
    [["handle", "h2"]]);
  for (const update of [{}, { resumable: false }, { newHandle: "h", resumable: false },
    { newHandle: 5, resumable: true }, { newHandle: "", resumable: true }, "x"]) {
    assert.deepEqual(serverEvents({ sessionResumptionUpdate: update }), [], JSON.stringify(update));
  }
});

// ---- LiveSession against a fake WebSocket -------------------------------------------------

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code, reason) { this.readyState = FakeSocket.CLOSED; this.closedWith = [code, reason]; }
  serverOpens() { this.readyState = FakeSocket.OPEN; this.onopen(); }
  serverSends(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
  serverCloses(code, reason = "") {
    this.readyState = FakeSocket.CLOSED;
    this.onclose({ code, reason, wasClean: true });
  }
}

function session() {
  const log = { states: [], notices: [], closes: [], handles: [], tokens: 0, live: 0 };
  const s = new LiveSession({
    baseUrl: "http://127.0.0.1:8080",
    getToken: async (handle) => {
      log.tokens += 1;
      log.handles.push(handle);
      return `auth_tokens/t${log.tokens}`;
    },
    handlers: {
      state: (st) => log.states.push(st),
      notice: (n) => log.notices.push(n),
      closed: (c) => log.closes.push(c),
      live: () => { log.live += 1; },
    },
  });
  return { s, log };
}

const settle = () => new Promise((r) => setImmediate(r));
const last = () => FakeSocket.all.at(-1);

describe("LiveSession", () => {
  beforeEach(() => {
    globalThis.WebSocket = FakeSocket;
    FakeSocket.all = [];
    mock.timers.enable({ apis: ["setTimeout"] });
  });
  afterEach(() => mock.timers.reset());

  test("connects to its own origin with a fresh token and sends setup first", async () => {
    const { s, log } = session();
    s.start({ model: "models/m", voice: "Puck", system: "" });
    await settle();
    assert.equal(last().url, "ws://127.0.0.1:8080/ws/google.ai.generativelanguage.v1alpha."
      + "GenerativeService.BidiGenerateContentConstrained?access_token=auth_tokens%2Ft1");
    last().serverOpens();
    assert.equal(last().sent[0].setup.model, "models/m");
    assert.equal(s.sendAudio("AAAA"), false, "nothing is streamed before setupComplete");
    last().serverSends({ setupComplete: {} });
    assert.equal(s.isLive, true);
    assert.equal(log.live, 1);
    assert.equal(s.sendText("hi"), true);
    last().serverSends({ toolCall: { functionCalls: [{ id: "1", name: "f" }] } });
    assert.deepEqual(last().sent.map((m) => Object.keys(m)[0]), ["setup", "realtime_input",
      "tool_response"]);
    s.stop();
    assert.deepEqual(last().closedWith, [CLOSE.NORMAL, "client stopped"]);
    assert.deepEqual(log.states, ["connecting", "live", "idle"]);
  });

  test("a refused token is retried once at once with a fresh one; a second refusal stops", async () => {
    const { s, log } = session();
    s.start({ model: "m", voice: "Puck", system: "" });
    await settle();
    last().serverOpens();
    last().serverCloses(1008, "token expired");
    await settle();
    assert.equal(FakeSocket.all.length, 2, "reconnected without a timer");
    assert.equal(log.tokens, 2);
    last().serverOpens();
    last().serverCloses(1008, "token expired");
    await settle();
    assert.equal(FakeSocket.all.length, 2);
    assert.equal(log.states.at(-1), "error");
    assert.match(log.notices.at(-1).text, /refused twice/);
  });

  test("lost connections retry with backoff, six times, then give up", async () => {
    const { s, log } = session();
    s.start({ model: "m", voice: "Puck", system: "" });
    await settle();
    for (let i = 0; i < 6; i++) {
      last().serverCloses(1011, "upstream went away");
      assert.equal(log.states.at(-1), "reconnecting");
      mock.timers.tick(20000);
      await settle();
    }
    assert.equal(FakeSocket.all.length, 7);
    last().serverCloses(1011, "");
    assert.equal(log.states.at(-1), "error");
    assert.equal(log.notices.at(-1).kind, "gave-up");
    mock.timers.tick(60000);
    await settle();
    assert.equal(FakeSocket.all.length, 7, "no retry after giving up");
    assert.equal(log.closes.length, 7);
  });

  test("a refusal (1007) stops at once", async () => {
    const { s, log } = session();
    s.start({ model: "m", voice: "Puck", system: "" });
    await settle();
    last().serverCloses(1007, "model m is not available on this gateway");
    mock.timers.tick(60000);
    await settle();
    assert.equal(FakeSocket.all.length, 1);
    assert.equal(log.states.at(-1), "error");
    assert.equal(log.notices.at(-1).kind, "refused");
  });

  test("a lost connection resumes with the newest handle and a token for it", async () => {
    const { s, log } = session();
    s.start({ model: "m", voice: "Puck", system: "" });
    await settle();
    last().serverOpens();
    assert.deepEqual(last().sent[0].setup.sessionResumption, {});
    last().serverSends({ setupComplete: {} });
    last().serverSends({ sessionResumptionUpdate: { newHandle: "h1", resumable: true } });
    last().serverSends({ sessionResumptionUpdate: {} }); // a reply in flight: keep the last one
    last().serverSends({ sessionResumptionUpdate: { newHandle: "h2", resumable: true } });
    last().serverCloses(1006, "");
    mock.timers.tick(20000);
    await settle();
    assert.deepEqual(log.handles, [null, "h2"], "the token is asked for the handle's identity");
    last().serverOpens();
    assert.deepEqual(last().sent[0].setup.sessionResumption, { handle: "h2" });
    last().serverSends({ setupComplete: {} });
    assert.equal(log.live, 2);
    s.stop();
    s.start({ model: "m", voice: "Puck", system: "" }); // Start: a new conversation
    await settle();
    last().serverOpens();
    assert.deepEqual(last().sent[0].setup.sessionResumption, {});
  });

  test("a refused handle (1007 before setupComplete) starts a new conversation at once", async () => {
    const { s, log } = session();
    s.start({ model: "m", voice: "Puck", system: "" });
    await settle();
    last().serverOpens();
    last().serverSends({ setupComplete: {} });
    last().serverSends({ sessionResumptionUpdate: { newHandle: "h1", resumable: true } });
    last().serverCloses(1011, "");
    mock.timers.tick(20000);
    await settle();
    last().serverOpens();
    last().serverCloses(1007, "Invalid session resumption handle");
    await settle();
    assert.equal(FakeSocket.all.length, 3, "reconnected without a timer");
    last().serverOpens();
    assert.deepEqual(last().sent[0].setup.sessionResumption, {});
    last().serverSends({ setupComplete: {} });
    assert.equal(log.states.at(-1), "live");
    assert.match(log.notices.at(-1).text, /could not be resumed/);
  });

  test("a fatal token error (dev tokens off) stops without retrying", async () => {
    const log = { states: [], notices: [] };
    const s = new LiveSession({
      baseUrl: "http://127.0.0.1:8080",
      getToken: async () => { const e = new Error("no tokens here"); e.fatal = true; throw e; },
      handlers: { state: (st) => log.states.push(st), notice: (n) => log.notices.push(n) },
    });
    s.start({ model: "m", voice: "Puck", system: "" });
    await settle();
    assert.equal(FakeSocket.all.length, 0);
    assert.deepEqual(log.states, ["connecting", "error"]);
    assert.deepEqual(log.notices, [{ kind: "refused", text: "no tokens here" }]);
  });
});
