// The livebus web client: camera + microphone conversation with Gemini Live through the gateway.
// No build step: plain ES modules. Test hooks live on `window.livebus` (docs/web-client.md).

import { MIC_RATE, MicCapture, Player } from "./audio.js";
import { encode, encodeBlob } from "./b64.js";
import { FrameSampler, imageToJpeg } from "./camera.js";
import { LiveSession } from "./live.js";

const $ = (id) => document.getElementById(id);

const VOICE_GATE_RMS = 0.015; // a mic chunk above this level counts as speech (latency start)
const VIDEO_BACKPRESSURE_BYTES = 256 * 1024; // above this, camera frames are dropped
const PREROLL_MS = 2000; // mic audio kept while connecting, sent once the session is live
const MIC_CHUNK_MS = 40;
const JITTER_MS = 80;

// ---- settings -------------------------------------------------------------------------------

const DEFAULTS = { model: "", voice: "Puck", system: "", fps: 1, processing: true };
const params = new URLSearchParams(location.search);

function loadSettings() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem("livebus.settings") || "{}");
  } catch { /* ignore a corrupt entry */ }
  const s = { ...DEFAULTS, ...saved };
  // Query parameters override (handy for links and tests): ?voice=Kore&fps=2&processing=off
  if (params.has("model")) s.model = params.get("model");
  if (params.has("voice")) s.voice = params.get("voice");
  if (params.has("system")) s.system = params.get("system");
  if (params.has("fps")) s.fps = Number(params.get("fps")) || 1;
  if (params.has("processing")) s.processing = !/^(off|false|0)$/i.test(params.get("processing"));
  return s;
}

function saveSettings(s) {
  localStorage.setItem("livebus.settings", JSON.stringify(s));
}

// ---- state and test hooks -------------------------------------------------------------------

const stats = {
  micChunksSent: 0, micSamplesSent: 0, micSamplesCaptured: 0, micRms: 0, micPeakRms: 0, micLevel: 0, micSumSq: 0,
  micPrerollSent: 0,
  framesSent: 0, framesDropped: 0, maxFrameW: 0, maxFrameH: 0, lastFrameBytes: 0,
  samplesReceived: 0, samplesPlayed: 0, samplesDropped: 0, samplesQueued: 0, underruns: 0,
  playing: false, outLevel: 0,
  interruptions: 0, lastFlush: null,
  lastLatencyMs: null, latencies: [],
  textsSent: 0, imagesSent: 0, turns: 0, connects: 0,
};

const app = {
  state: "idle",
  config: null,
  settings: loadSettings(),
  stats,
  transcript: [], // {role: "user"|"model", text, kind, interrupted}
  notices: [],
  closes: [],
  mic: { wanted: true, stream: null, capture: null },
  cam: { wanted: !/^(off|false|0)$/i.test(params.get("camera") ?? "on"), track: null },
  player: null,
  sampler: null,
  session: null,
  preroll: [],
  prerollSamples: 0,
  // awaiting: the person said or sent something since the last reply started;
  // replyOpen: a model turn is streaming (between its first audio and turnComplete/interrupted).
  latency: { awaiting: false, replyOpen: false, markAt: 0, lastVoicedAt: 0 },
  attachment: null,
};
window.livebus = app;

// ---- connection state in the UI -------------------------------------------------------------

const STATE_TEXT = {
  idle: "Ready", connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…",
  error: "Disconnected",
};

function setState(state, detail = {}) {
  app.state = state;
  document.body.dataset.state = state;
  let text = STATE_TEXT[state] ?? state;
  if (state === "reconnecting" && detail.retryInMs) {
    text = `Reconnecting in ${Math.max(1, Math.round(detail.retryInMs / 1000))} s…`;
  }
  $("conn-text").textContent = text;
  const active = state !== "idle" && state !== "error";
  $("btn-start").setAttribute("aria-label", active ? "End conversation" : "Start conversation");
  $("start-label").textContent = active ? "End" : "Start";
  $("hero").setAttribute("aria-hidden", String(active));
  updateComposer();
}

// ---- notices --------------------------------------------------------------------------------

let noticeTimer = null;

function notice(text, { kind = "info", action = null, sticky = false } = {}) {
  app.notices.push({ kind, text, at: Date.now() });
  const box = $("notice");
  box.dataset.kind = kind;
  $("notice-text").textContent = text;
  const btn = $("notice-action");
  btn.hidden = !action;
  if (action) {
    btn.textContent = action.label;
    btn.onclick = () => { hideNotice(); action.run(); };
  }
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (!sticky) noticeTimer = setTimeout(hideNotice, 7000);
}

function hideNotice() {
  $("notice").hidden = true;
}

// ---- tokens ---------------------------------------------------------------------------------

async function getToken() {
  if (app.config && !app.config.devTokens) {
    const e = new Error("This gateway does not hand the page access tokens "
      + "(LIVEBUS_GATEWAY_DEV_TOKENS is off). Serve the page from your own backend that mints "
      + "ephemeral tokens (docs/tokens.md).");
    e.fatal = true;
    throw e;
  }
  const r = await fetch("dev/token", { method: "POST" });
  if (r.status === 403) {
    const e = new Error("This gateway does not hand out development tokens.");
    e.fatal = true;
    throw e;
  }
  if (!r.ok) throw new Error(`token request failed with HTTP ${r.status}`);
  const body = await r.json();
  return body.name;
}

// ---- microphone -----------------------------------------------------------------------------

function audioConstraints() {
  const p = app.settings.processing;
  return { channelCount: 1, echoCancellation: p, noiseSuppression: p, autoGainControl: p };
}

async function startMic() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints() });
  } catch (e) {
    notice(`Microphone unavailable (${e.name}). You can still type and show the camera.`,
      { kind: "warn" });
    setMicWanted(false);
    return;
  }
  app.mic.stream = stream;
  stream.getAudioTracks().forEach((t) => { t.enabled = app.mic.wanted; });
  const capture = new MicCapture({ chunkMs: MIC_CHUNK_MS, onChunk: onMicChunk });
  await capture.start(stream);
  app.mic.capture = capture;
}

async function stopMic() {
  await app.mic.capture?.stop();
  app.mic.stream?.getTracks().forEach((t) => t.stop());
  app.mic.capture = null;
  app.mic.stream = null;
  app.preroll = [];
  app.prerollSamples = 0;
}

function onMicChunk(pcm, rms, at) {
  stats.micLevel = rms;
  if (!app.mic.wanted) return;
  stats.micSamplesCaptured += pcm.length;
  if (rms >= VOICE_GATE_RMS) {
    app.latency.lastVoicedAt = at;
    app.latency.awaiting = true;
  }
  if (app.session?.isLive) {
    sendMic(pcm, rms);
  } else if (app.state === "connecting" || app.state === "reconnecting") {
    // Keep what the person says while we connect; send it once the session is live.
    app.preroll.push([pcm, rms]);
    app.prerollSamples += pcm.length;
    while (app.prerollSamples > (MIC_RATE * PREROLL_MS) / 1000) {
      app.prerollSamples -= app.preroll.shift()[0].length;
    }
  }
}

function sendMic(pcm, rms) {
  if (!app.session.sendAudio(encode(pcm))) return;
  stats.micChunksSent += 1;
  stats.micSamplesSent += pcm.length;
  stats.micSumSq += rms * rms * pcm.length;
  stats.micRms = Math.sqrt(stats.micSumSq / stats.micSamplesSent);
  stats.micPeakRms = Math.max(stats.micPeakRms, rms);
}

function flushPreroll() {
  const chunks = app.preroll;
  app.preroll = [];
  app.prerollSamples = 0;
  for (const [pcm, rms] of chunks) {
    sendMic(pcm, rms);
    stats.micPrerollSent += pcm.length;
  }
}

function setMicWanted(on) {
  const was = app.mic.wanted;
  app.mic.wanted = on;
  app.mic.stream?.getAudioTracks().forEach((t) => { t.enabled = on; });
  const b = $("btn-mic");
  b.setAttribute("aria-pressed", String(on));
  b.setAttribute("aria-label", on ? "Microphone on" : "Microphone off");
  document.body.dataset.mic = on ? "on" : "off";
  // Tell the model the stream paused, so it does not wait for the end of a sentence.
  if (was && !on) app.session?.sendAudioStreamEnd();
}

// ---- camera ---------------------------------------------------------------------------------

async function startCamera() {
  if (!app.cam.wanted || app.cam.track) return;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" },
    });
  } catch (e) {
    notice(`Camera unavailable (${e.name}). The conversation continues with voice.`,
      { kind: "warn" });
    setCamWanted(false, { restart: false });
    return;
  }
  const [track] = stream.getVideoTracks();
  app.cam.track = track;
  const video = $("preview");
  video.srcObject = stream;
  await video.play().catch(() => {});
  if (!app.sampler) {
    app.sampler = new FrameSampler({
      video, fps: app.settings.fps, onFrame: onFrame,
      shouldSkip: () => {
        if (!app.session?.isLive) return true;
        if (app.session.bufferedAmount > VIDEO_BACKPRESSURE_BYTES) {
          stats.framesDropped += 1; // video is opportunistic: never delay audio for it
          return true;
        }
        return false;
      },
    });
  }
  if (app.session?.isLive) app.sampler.start();
}

function stopCamera() {
  app.sampler?.stop();
  app.cam.track?.stop();
  app.cam.track = null;
  $("preview").srcObject = null;
}

async function onFrame(blob, width, height) {
  const s = app.session;
  if (!s?.isLive) return;
  if (s.bufferedAmount > VIDEO_BACKPRESSURE_BYTES) {
    stats.framesDropped += 1;
    return;
  }
  if (!s.sendVideo(await encodeBlob(blob), "image/jpeg")) return;
  stats.framesSent += 1;
  stats.lastFrameBytes = blob.size;
  stats.maxFrameW = Math.max(stats.maxFrameW, width);
  stats.maxFrameH = Math.max(stats.maxFrameH, height);
}

function setCamWanted(on, { restart = true } = {}) {
  app.cam.wanted = on;
  const b = $("btn-cam");
  b.setAttribute("aria-pressed", String(on));
  b.setAttribute("aria-label", on ? "Camera on" : "Camera off");
  document.body.dataset.camera = on ? "on" : "off";
  if (!restart) return;
  if (!on) stopCamera();
  else if (app.state !== "idle" && app.state !== "error") startCamera();
}

// ---- playback -------------------------------------------------------------------------------

function onPlayerStats(s) {
  stats.samplesPlayed = s.played;
  stats.samplesQueued = s.queued;
  stats.samplesDropped = s.dropped;
  stats.underruns = s.underruns;
  stats.playing = s.playing;
  stats.outLevel = s.level;
}

function onFlushed(s) {
  onPlayerStats(s);
  const f = stats.lastFlush;
  if (f && f.id === s.id) {
    f.flushedAt = performance.now();
    f.roundTripMs = f.flushedAt - f.receivedAt;
    f.audioClockDelayMs = Math.max(0, (s.at - f.clockAt) * 1000);
    f.droppedNow = s.droppedNow;
    f.wasPlaying = s.wasPlaying;
    f.playedAtFlush = s.played;
    f.queuedAfter = s.queued;
    f.playingAfter = s.playing;
  }
}

// ---- the session ----------------------------------------------------------------------------

function sessionHandlers() {
  return {
    state: (state, detail) => {
      setState(state, detail);
      if (state === "error") teardownMedia();
    },
    live: () => {
      stats.connects += 1;
      app.latency.replyOpen = false;
      hideNotice();
      flushPreroll();
      if (app.cam.wanted && app.cam.track) app.sampler?.start();
    },
    audio: (bytes) => {
      // Latency is measured at the first audio of a model turn, never mid-reply (audio of a
      // reply being barged into is not an answer to the words that interrupt it).
      if (!app.latency.replyOpen) {
        app.latency.replyOpen = true;
        if (app.latency.awaiting) measureLatency();
      }
      stats.samplesReceived += bytes.byteLength >> 1;
      app.player?.push(bytes);
    },
    interrupted: () => {
      // Barge-in: drop queued reply audio at once.
      stats.interruptions += 1;
      const id = app.player ? app.player.flush() : 0;
      stats.lastFlush = { id, receivedAt: performance.now(), clockAt: app.player?.currentTime ?? 0 };
      app.latency.replyOpen = false;
      endModelEntry(true);
    },
    inputText: (text) => appendTranscript("user", text),
    outputText: (text) => appendTranscript("model", text),
    generationComplete: () => app.player?.drain(),
    turnComplete: () => {
      stats.turns += 1;
      app.latency.replyOpen = false;
      app.player?.drain();
      endModelEntry(false);
    },
    goAway: () => notice("The server is moving this session; it continues on its own.",
      { kind: "info" }),
    notice: ({ kind, text, retryInMs }) => {
      const sticky = kind !== "info" && kind !== "token";
      let full = text;
      if (retryInMs) full += ` Reconnecting in ${(retryInMs / 1000).toFixed(1)} s.`;
      const action = (kind === "gave-up" || kind === "refused" || kind === "ended")
        ? { label: "Start again", run: start } : null;
      notice(full, { kind: kind === "token" ? "info" : "error", sticky, action });
    },
    closed: (info) => app.closes.push(info),
  };
}

async function start() {
  if (app.state !== "idle" && app.state !== "error") return;
  hideNotice();
  if (!navigator.mediaDevices?.getUserMedia) {
    notice("Camera and microphone need a secure page: open it as http://localhost or over https.",
      { kind: "error", sticky: true });
    return;
  }
  if (!app.config) await loadConfig();
  const settings = { ...app.settings, model: app.settings.model || app.config?.models?.[0] };
  app.session = new LiveSession({
    apiVersion: app.config?.apiVersion ?? "v1alpha", getToken, handlers: sessionHandlers(),
  });
  app.player = new Player({ jitterMs: JITTER_MS, onStats: onPlayerStats, onFlushed });
  setState("connecting");
  // Media and the connection start together; audio said meanwhile is kept (pre-roll).
  app.session.start(settings);
  await Promise.all([
    app.player.start(),
    startMic(),
    app.cam.wanted ? startCamera() : Promise.resolve(),
  ]).catch((e) => {
    if (active()) notice(`Could not start audio: ${e.message}`, { kind: "error" });
  });
  // Stopped (or refused) while the devices were opening: release what just opened.
  if (!active()) await teardownMedia();
}

function active() {
  return app.state !== "idle" && app.state !== "error";
}

async function stop() {
  app.session?.stop();
  await teardownMedia();
  setState("idle");
}

async function teardownMedia() {
  app.sampler?.stop();
  stopCamera();
  await stopMic();
  await app.player?.stop();
  app.player = null;
  app.latency.awaiting = false;
  endModelEntry(false);
}

// ---- latency readout ------------------------------------------------------------------------

function measureLatency() {
  const mark = Math.max(app.latency.lastVoicedAt, app.latency.markAt);
  app.latency.awaiting = false;
  if (mark <= 0) return;
  const ms = Math.round(performance.now() - mark);
  stats.lastLatencyMs = ms;
  stats.latencies.push(ms);
  showLatency(ms);
}

function showLatency(ms) {
  const recent = stats.latencies.slice(-10);
  const avg = Math.round(recent.reduce((a, b) => a + b, 0) / recent.length);
  $("latency-text").textContent = `${ms} ms`;
  $("latency-pill").title = `First reply audio ${ms} ms after you stopped speaking `
    + `(average of last ${recent.length}: ${avg} ms)`;
  $("latency-pill").classList.add("has-value");
}

// ---- transcript -----------------------------------------------------------------------------

let current = { user: null, model: null }; // the entries transcription fragments extend
let openReply = null; // the model entry of the reply in flight (until turnComplete/interrupted)

function newEntry(role, text, extra = {}) {
  const entry = { role, text, ...extra };
  app.transcript.push(entry);
  const li = document.createElement("li");
  li.className = `msg ${role}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Gemini";
  const body = document.createElement("p");
  body.className = "body";
  body.textContent = text;
  li.append(who);
  if (extra.image) {
    const img = document.createElement("img");
    img.src = extra.image;
    img.alt = "Image you sent";
    img.className = "sent-image";
    li.append(img);
  }
  li.append(body);
  entry.el = li;
  entry.bodyEl = body;
  $("transcript").append(li);
  $("transcript-empty").hidden = true;
  scrollTranscript();
  return entry;
}

function appendTranscript(role, text) {
  if (role === "user") {
    current.model = null; // the person spoke: the model's next words start a new entry
    if (!current.user) current.user = newEntry("user", "", { kind: "speech" });
    current.user.text += text;
    current.user.bodyEl.textContent = current.user.text.trimStart();
  } else {
    current.user = null;
    if (!current.model) {
      current.model = newEntry("model", "");
      openReply = current.model;
    }
    current.model.text += text;
    current.model.bodyEl.textContent = current.model.text.trimStart();
    showCaption(current.model.text);
  }
  scrollTranscript();
}

function endModelEntry(interrupted) {
  const m = openReply;
  if (m && interrupted) {
    m.interrupted = true;
    m.el.classList.add("interrupted");
  }
  openReply = null;
  current = { user: null, model: null };
  setTimeout(() => { if (!current.model) hideCaption(); }, 3500);
}

function scrollTranscript() {
  const list = $("transcript");
  list.scrollTop = list.scrollHeight;
}

function showCaption(text) {
  const words = text.trim();
  const tail = words.length > 140 ? `…${words.slice(-140).replace(/^\S*\s/, "")}` : words;
  $("caption-text").textContent = tail;
  $("caption").classList.add("show");
}

function hideCaption() {
  $("caption").classList.remove("show");
}

function toggleDrawer(open = $("drawer").hidden) {
  $("drawer").hidden = !open;
  document.body.dataset.drawer = open ? "open" : "closed";
  $("btn-transcript").setAttribute("aria-expanded", String(open));
  $("btn-transcript").setAttribute("aria-label", open ? "Hide transcript" : "Show transcript");
  if (open) scrollTranscript();
}

// ---- text and images ------------------------------------------------------------------------

function updateComposer() {
  const live = app.state === "live";
  const hasContent = $("text-input").value.trim() !== "" || app.attachment !== null;
  $("btn-send").disabled = !(live && hasContent);
  $("text-input").placeholder = live ? "Type a message…" : "Start to type a message…";
}

async function attachImage(file) {
  if (!file || !file.type.startsWith("image/")) return;
  try {
    const { blob, width, height } = await imageToJpeg(file);
    if (app.attachment) URL.revokeObjectURL(app.attachment.url);
    app.attachment = { blob, width, height, url: URL.createObjectURL(blob), name: file.name };
    $("attachment-img").src = app.attachment.url;
    $("attachment").hidden = false;
    $("text-input").placeholder = "Add a question about the image (optional)";
    $("text-input").focus();
  } catch (e) {
    notice(`That image could not be read (${e.message}).`, { kind: "warn" });
  }
  updateComposer();
}

function clearAttachment() {
  app.attachment = null;
  $("attachment").hidden = true;
  $("file-input").value = "";
  updateComposer();
}

function markTurnSent() {
  app.latency.markAt = performance.now();
  app.latency.lastVoicedAt = 0;
  app.latency.awaiting = true;
}

async function sendComposer() {
  const input = $("text-input");
  const text = input.value.trim();
  const s = app.session;
  if (!s?.isLive || (!text && !app.attachment)) return false;
  if (app.attachment) {
    const a = app.attachment;
    // Images go as a conversation turn (client_content), so the model answers about them.
    if (!s.sendImageTurn(await encodeBlob(a.blob), "image/jpeg", text || undefined)) return false;
    stats.imagesSent += 1;
    current = { user: null, model: null };
    newEntry("user", text, { kind: "image", image: a.url });
    app.attachment = null;
    $("attachment").hidden = true;
    $("file-input").value = "";
  } else {
    if (!s.sendText(text)) return false;
    stats.textsSent += 1;
    current = { user: null, model: null };
    newEntry("user", text, { kind: "text" });
  }
  markTurnSent();
  input.value = "";
  updateComposer();
  return true;
}

// Scripted use (and tests): the same paths the controls take.
app.start = start;
app.stop = stop;
app.sendText = async (text) => { $("text-input").value = text; return sendComposer(); };
app.sendImage = async (blob) => { await attachImage(blob); return sendComposer(); };
app.setMic = setMicWanted;
app.setCamera = setCamWanted;
app.setVideoRate = (fps) => { app.settings.fps = fps; app.sampler?.setRate(fps); };

// ---- settings dialog ------------------------------------------------------------------------

function fillSettings() {
  const s = app.settings;
  const models = app.config?.models ?? [];
  const sel = $("set-model");
  sel.replaceChildren(...models.map((m) => {
    const o = document.createElement("option");
    o.value = m;
    o.textContent = m.replace(/^models\//, "");
    return o;
  }));
  sel.value = s.model && models.includes(s.model) ? s.model : models[0] ?? "";
  $("set-voice").value = s.voice;
  $("set-system").value = s.system;
  $("set-fps").value = String(s.fps);
  $("set-processing").checked = s.processing;
}

function openSettings() {
  fillSettings();
  $("settings").showModal();
}

function onSettingsClosed() {
  $("btn-settings").focus(); // back to where the dialog came from
  if ($("settings").returnValue !== "save") return;
  app.settings = {
    ...app.settings,
    model: $("set-model").value,
    voice: $("set-voice").value,
    system: $("set-system").value,
    fps: Number($("set-fps").value) || 1,
    processing: $("set-processing").checked,
  };
  saveSettings(app.settings);
  app.sampler?.setRate(app.settings.fps);
  if (app.state === "live") notice("Saved. Voice, model and instructions apply from the next start.");
}

async function loadConfig() {
  try {
    const r = await fetch("config");
    app.config = await r.json();
  } catch (e) {
    app.config = { models: [], devTokens: true, apiVersion: "v1alpha" };
    notice(`Could not read the gateway's configuration (${e.message}).`, { kind: "warn" });
  }
  if (!app.settings.model) app.settings.model = app.config.models?.[0] ?? "";
}

// ---- levels: the mic ring and the ambient orb follow the audio -------------------------------

function animate() {
  const mic = app.mic.wanted && app.state !== "idle" ? Math.min(1, stats.micLevel * 8) : 0;
  const out = stats.playing ? Math.min(1, stats.outLevel * 5) : 0;
  const root = document.documentElement.style;
  root.setProperty("--mic", mic.toFixed(3));
  root.setProperty("--out", out.toFixed(3));
  document.body.dataset.speaking = stats.playing ? "model" : mic > 0.15 ? "user" : "none";
  requestAnimationFrame(animate);
}

// ---- wiring ---------------------------------------------------------------------------------

function isTyping(el) {
  return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT"
    || el.isContentEditable);
}

function wire() {
  $("btn-start").addEventListener("click", () => (app.state === "idle" || app.state === "error"
    ? start() : stop()));
  $("btn-mic").addEventListener("click", () => setMicWanted(!app.mic.wanted));
  $("btn-cam").addEventListener("click", () => setCamWanted(!app.cam.wanted));
  $("btn-transcript").addEventListener("click", () => toggleDrawer());
  $("drawer-close").addEventListener("click", () => { toggleDrawer(false); $("btn-transcript").focus(); });
  $("btn-settings").addEventListener("click", openSettings);
  $("settings").addEventListener("close", onSettingsClosed);
  $("notice-close").addEventListener("click", hideNotice);
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); sendComposer(); });
  $("text-input").addEventListener("input", updateComposer);
  $("btn-image").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (e) => attachImage(e.target.files?.[0]));
  $("attachment-remove").addEventListener("click", clearAttachment);
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.type.startsWith("image/"));
    if (item) {
      e.preventDefault();
      attachImage(item.getAsFile());
    }
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith("image/"));
    if (file) {
      e.preventDefault();
      attachImage(file);
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("drawer").hidden && !$("settings").open) {
      toggleDrawer(false);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(document.activeElement)) return;
    if ($("settings").open) return;
    const k = e.key.toLowerCase();
    if (k === "m") setMicWanted(!app.mic.wanted);
    else if (k === "v") setCamWanted(!app.cam.wanted);
    else if (k === "t") toggleDrawer();
    else if (k === ",") openSettings();
    else if (k === " " && document.activeElement === document.body) {
      e.preventDefault();
      $("btn-start").click();
    } else return;
    e.preventDefault();
  });
}

async function main() {
  wire();
  setMicWanted(!/^(off|false|0)$/i.test(params.get("mic") ?? "on"));
  setCamWanted(app.cam.wanted, { restart: false });
  setState("idle");
  requestAnimationFrame(animate);
  await loadConfig();
  fillSettings();
  app.ready = true;
  if (params.get("transcript") === "open") toggleDrawer(true);
  if (params.get("autostart") === "1") start();
}

main();
