// The conversation: a token, the LiveSession, and its events wired to media, transcript and UI.

import { sessionNotice, isActive } from "./format.js";
import { audioArrived, replyEnded, reset } from "./latency.js";
import { LiveSession } from "./live.js";
import {
  flushPreroll, mediaTracks, newPlayer, resumeCamera, startMedia, stopMedia,
} from "./media.js";
import { hideNotice, notice } from "./notices.js";
import { endAllTalk, showTalkMode } from "./pushtotalk.js";
import { chooseTransport, iceServerList, rtcDialer } from "./rtc.js";
import { loadConfig } from "./settingsdialog.js";
import { app } from "./state.js";
import { flushAsked } from "./stats.js";
import { setState, showLatency } from "./statusbar.js";
import { addFragment, endModelTurn } from "./transcriptview.js";

function fatal(message) {
  const e = new Error(message);
  e.fatal = true;
  return e;
}

/**
 * A one-use token from the gateway (a fresh one for every connection). A same-origin POST whose
 * Origin header the gateway checks. Under the page's Referrer-Policy (no-referrer) the Fetch
 * standard sends `Origin: null` on a POST (Firefox does; Chromium sends the origin anyway), so
 * this request says "same-origin" for itself, and sends no Referer.
 */
export async function getToken(handle = null) {
  if (app.config && !app.config.devTokens) {
    throw fatal("This gateway does not hand the page access tokens "
      + "(LIVEBUS_GATEWAY_DEV_TOKENS is off). Serve the page from your own backend that mints "
      + "ephemeral tokens (docs/tokens.md).");
  }
  // Resuming: the token keeps the identity the handle is bound to.
  const r = await fetch("dev/token", {
    method: "POST", mode: "same-origin", credentials: "same-origin", cache: "no-store",
    referrer: "", referrerPolicy: "same-origin",
    ...(handle ? { headers: { "content-type": "application/json" },
      body: JSON.stringify({ resume: handle }) } : {}),
  });
  if (r.status === 403) throw fatal("This gateway does not hand out development tokens.");
  if (!r.ok) throw new Error(`token request failed with HTTP ${r.status}`);
  const body = await r.json();
  app.tokenIceServers = iceServerList(body.livebus?.iceServers); // TURN minted for this token
  return body.name;
}

function sessionHandlers() {
  return {
    state: (state, detail) => {
      if (state !== "live") endAllTalk(); // a held turn does not survive the connection
      setState(state, detail);
      if (state === "error") teardown();
    },
    live: () => {
      app.stats.connects += 1;
      replyEnded(app.latency);
      hideNotice();
      flushPreroll();
      resumeCamera();
    },
    audio: (bytes) => {
      // Latency is measured at the first audio of a model turn, never mid-reply.
      const ms = audioArrived(app.latency, performance.now());
      if (ms !== null) showLatency(ms);
      app.stats.samplesReceived += bytes.byteLength >> 1;
      app.player?.push(bytes);
    },
    interrupted: () => {
      // Barge-in: drop queued reply audio at once.
      const id = app.player ? app.player.flush() : 0;
      flushAsked(app.stats, id, performance.now(), app.player?.currentTime ?? 0);
      replyEnded(app.latency);
      endModelTurn(true);
    },
    inputText: (text) => addFragment("user", text),
    outputText: (text) => addFragment("model", text),
    generationComplete: () => app.player?.drain(),
    turnComplete: () => {
      app.stats.turns += 1;
      replyEnded(app.latency);
      app.player?.drain();
      endModelTurn(false);
    },
    notice: (n) => {
      const { text, kind, sticky, restart } = sessionNotice(n);
      notice(text, { kind, sticky, action: restart ? { label: "Start again", run: start } : null });
    },
    closed: (info) => app.closes.push(info),
  };
}

export async function start() {
  if (isActive(app.state)) return;
  hideNotice();
  if (!navigator.mediaDevices?.getUserMedia) {
    notice("Camera and microphone need a secure page: open it as http://localhost or over https.",
      { kind: "error", sticky: true });
    return;
  }
  if (!app.config) await loadConfig();
  const settings = { ...app.settings, model: app.settings.model || app.config?.models?.[0] };
  app.transport = chooseTransport(settings, app.config);
  if (app.transport !== settings.transport) {
    notice("This gateway offers no WebRTC endpoint: using the WebSocket.", { kind: "warn" });
  }
  showTalkMode(settings.pushToTalk);
  app.session = new LiveSession({
    apiVersion: app.config?.apiVersion ?? "v1alpha", getToken, handlers: sessionHandlers(),
    dial: app.transport === "webrtc"
      ? rtcDialer(app.config, mediaTracks, (stream, rx) => app.player?.attach(stream, rx),
        () => app.tokenIceServers)
      : undefined,
    acks: app.transport !== "webrtc" && Boolean(app.config?.uplinkAcks), // WebSocket only
  });
  app.player = newPlayer();
  setState("connecting");
  // Media and the connection start together; audio said meanwhile is kept (pre-roll).
  app.session.start(settings);
  await startMedia().catch((e) => {
    if (isActive(app.state)) notice(`Could not start audio: ${e.message}`, { kind: "error" });
  });
  // Stopped (or refused) while the devices were opening: release what just opened.
  if (!isActive(app.state)) await teardown();
}

export async function stop() {
  app.session?.stop();
  await teardown();
  setState("idle");
}

export function toggle() {
  return isActive(app.state) ? stop() : start();
}

async function teardown() {
  await stopMedia();
  reset(app.latency);
  endModelTurn(false);
}
