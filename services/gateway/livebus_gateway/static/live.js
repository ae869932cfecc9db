// One Gemini Live conversation over the gateway's WebSocket, with reconnects.
// Speaks the Gemini Live wire protocol exactly as Google's endpoint does (docs/web-client.md).

import { CLOSE, backoffMs, describeClose } from "./closes.js";
import { serverEvents, toolErrorResponse } from "./messages.js";
import { Uplink } from "./uplink.js";

export { CLOSE, backoffMs, describeClose, serverEvents, toolErrorResponse };

const SETUP_TIMEOUT_MS = 20000;
const MAX_RETRIES = 6;
const OPEN = 1; // OPEN, and RtcTransport's (rtc.js)

/** Builds the setup message from the page's settings; with a handle it resumes that session. */
export function buildSetup(s, handle = null) {
  const setup = {
    model: s.model,
    generationConfig: {
      responseModalities: ["AUDIO"],
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: s.voice } } },
    },
    inputAudioTranscription: {},
    outputAudioTranscription: {},
    realtimeInputConfig: {
      // Push-to-talk: the page says when speech starts and ends (activityStart / activityEnd).
      automaticActivityDetection: { disabled: Boolean(s.pushToTalk) },
      activityHandling: "START_OF_ACTIVITY_INTERRUPTS",
    },
    sessionResumption: handle ? { handle } : {},
  };
  if (s.system && s.system.trim()) {
    setup.systemInstruction = { parts: [{ text: s.system.trim() }] };
  }
  return { setup };
}

/**
 * Events (callbacks on `handlers`): state(state, detail), live(), audio(Uint8Array, mime),
 * inputText(text), outputText(text), interrupted(), generationComplete(), turnComplete(usage),
 * notice({kind, text, retryInMs}), closed({code, reason, wasLive, kind, retry, text}),
 * message(raw object)
 */
export class LiveSession {
  /** `dial(token)`, when given, opens the connection instead of a WebSocket (rtc.js). */
  constructor({ baseUrl = location.origin, apiVersion = "v1alpha", getToken, handlers, dial,
    acks }) {
    this.baseUrl = baseUrl;
    this.dial = dial ?? ((token) => new WebSocket(this.url(token)));
    this.apiVersion = apiVersion;
    this.getToken = getToken;
    this.h = handlers;
    this.ws = null;
    this.state = "idle";
    this.settings = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.setupTimer = null;
    this.wanted = false;
    this.tokenRetried = false;
    this.handle = null; // the newest resumption handle: a reconnect resumes the conversation
    this.resuming = false;
    this.acks = Boolean(acks); // ask a livebus gateway to acknowledge what it read (uplink.js)
    this.uplink = null; // this connection's Uplink
  }

  setState(state, detail = {}) {
    this.state = state;
    this.h.state?.(state, detail);
  }

  url(token) {
    const ws = this.baseUrl.replace(/^http/, "ws");
    return `${ws}/ws/google.ai.generativelanguage.${this.apiVersion}.GenerativeService.`
      + `BidiGenerateContentConstrained?access_token=${encodeURIComponent(token)}`
      + (this.acks ? "&livebus_acks=1" : "");
  }

  start(settings) {
    this.settings = settings;
    this.wanted = true;
    this.attempt = 0;
    this.tokenRetried = false;
    this.handle = null; // Start begins a new conversation
    this.open();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.setupTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= OPEN) ws.close(CLOSE.NORMAL, "client stopped");
    this.setState("idle");
  }

  get isLive() {
    return this.state === "live" && this.ws?.readyState === OPEN;
  }

  get bufferedAmount() {
    return this.ws ? this.ws.bufferedAmount : 0;
  }

  /** WebRTC: the microphone ("audio") or camera ("video") track the connection sends. */
  setTrack(kind, track) {
    this.ws?.setTrack?.(kind, track);
  }

  async open() {
    clearTimeout(this.retryTimer);
    this.setState(this.attempt ? "reconnecting" : "connecting", { attempt: this.attempt });
    let token;
    try {
      token = await this.getToken(this.handle); // one-use: a fresh one for every connection
    } catch (e) {
      if (!this.wanted) return;
      if (e.fatal) {
        this.wanted = false;
        this.h.notice?.({ kind: "refused", text: e.message });
        this.setState("error");
        return;
      }
      this.scheduleRetry({ kind: "lost", text: `Could not get an access token (${e.message}).` });
      return;
    }
    if (!this.wanted) return;
    const ws = this.dial(token);
    this.uplink = new Uplink();
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.resuming = Boolean(this.handle);
      this.write(ws, JSON.stringify(buildSetup(this.settings, this.handle)));
      this.setupTimer = setTimeout(() => {
        if (this.ws === ws && this.state !== "live") ws.close(4000, "no setupComplete");
      }, SETUP_TIMEOUT_MS);
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      const text = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data);
      let msg;
      try {
        msg = JSON.parse(text);
      } catch {
        return;
      }
      if (this.acks && msg?.livebusAck) this.uplink.acked(performance.now(), msg.livebusAck.received);
      else this.dispatch(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return; // an old socket we already left
      clearTimeout(this.setupTimer);
      this.ws = null;
      this.onClosed(e.code, e.reason, e.wasClean);
    };
  }

  onClosed(code, reason) {
    if (!this.wanted) return;
    const wasLive = this.state === "live";
    const info = describeClose(code, reason);
    this.h.closed?.({ code, reason, wasLive, ...info });
    if (code === CLOSE.INVALID_ARGUMENT && this.resuming && !wasLive) {
      // The handle was refused (expired, or the session is gone): a new conversation instead.
      this.handle = null;
      this.h.notice?.({ kind: "lost", text: "The conversation could not be resumed; starting a new one." });
      this.open();
      return;
    }
    if (info.kind === "token" && !this.tokenRetried) {
      // Once, straight away, with a fresh token: a stale token is not worth a backoff.
      this.tokenRetried = true;
      this.h.notice?.({ kind: "token", text: info.text });
      this.open();
      return;
    }
    if (!info.retry || info.kind === "token") {
      this.wanted = false;
      const text = info.kind === "token"
        ? `Your access token was refused twice${reason ? `: ${reason}` : ""}. Press Start to try again.`
        : info.text;
      this.h.notice?.({ kind: info.kind, text, code });
      this.setState("error", { code, reason });
      return;
    }
    if (wasLive) this.attempt = 0;
    this.scheduleRetry(info);
  }

  scheduleRetry(info) {
    if (this.attempt >= MAX_RETRIES) {
      this.wanted = false;
      this.h.notice?.({ kind: "gave-up", text: `${info.text} Reconnecting failed ${MAX_RETRIES} times.` });
      this.setState("error");
      return;
    }
    const wait = backoffMs(this.attempt);
    this.attempt += 1;
    this.h.notice?.({ kind: info.kind, text: info.text, retryInMs: wait });
    this.setState("reconnecting", { attempt: this.attempt, retryInMs: wait });
    this.retryTimer = setTimeout(() => this.open(), wait);
  }

  dispatch(msg) {
    this.h.message?.(msg);
    for (const [event, ...args] of serverEvents(msg)) {
      if (event === "live") {
        clearTimeout(this.setupTimer);
        this.attempt = 0;
        this.tokenRetried = false;
        this.setState("live");
        this.h.live?.();
      } else if (event === "handle") {
        this.handle = args[0];
      } else if (event === "toolCall") {
        this.send(toolErrorResponse(args[0]));
      } else {
        this.h[event]?.(...args);
      }
    }
  }

  write(ws, text) { // counted: what the gateway acknowledges is the uplink's queue
    if (ws.send(text) === false) return false; // too large for the channel (rtc.js)
    this.uplink.sent(performance.now(), text.length);
    return true;
  }

  send(obj) {
    if (!this.isLive) return false;
    return this.write(this.ws, JSON.stringify(obj));
  }

  sendAudio(b64) {
    return this.send({ realtime_input: { audio: { data: b64, mime_type: "audio/pcm;rate=16000" } } });
  }

  sendVideo(b64, mime = "image/jpeg") {
    return this.send({ realtime_input: { video: { data: b64, mime_type: mime } } });
  }

  sendText(text) {
    return this.send({ realtime_input: { text } });
  }

  sendAudioStreamEnd() {
    return this.send({ realtime_input: { audioStreamEnd: true } });
  }

  // Push-to-talk: the page says when speech starts and ends.
  sendActivityStart() { return this.send({ realtime_input: { activityStart: {} } }); }
  sendActivityEnd() { return this.send({ realtime_input: { activityEnd: {} } }); }

  /** A user turn with an image (and optional text), answered right away. */
  sendImageTurn(b64, mime, text) {
    const parts = [{ inlineData: { mimeType: mime, data: b64 } }];
    if (text) parts.push({ text });
    return this.send({ client_content: { turns: [{ role: "user", parts }], turnComplete: true } });
  }
}
