// Microphone, camera and playback: devices in, PCM and JPEG frames out, reply audio played.

import { MIC_RATE, MicCapture, Player } from "./audio.js";
import { encode, encodeBlob } from "./b64.js";
import { FrameSampler, MAX_SIDE } from "./camera.js";
import { $, setPressed } from "./dom.js";
import { isActive } from "./format.js";
import { heardVoice } from "./latency.js";
import { notice } from "./notices.js";
import { keep, take } from "./preroll.js";
import { endAllTalk, mayStream, pushToTalk, syncMicTrack } from "./pushtotalk.js";
import { RtcPlayer } from "./rtcplayer.js";
import { app } from "./state.js";
import { countFrameSent, countMicSent, flushDone, noteMicClock, playerReport } from "./stats.js";

const VOICE_GATE_RMS = 0.015; // a mic chunk above this level counts as speech (latency start)
const VIDEO_BACKPRESSURE_BYTES = 256 * 1024; // above this, camera frames are dropped
const PREROLL_MS = 2000; // mic audio kept while connecting, sent once the session is live
const MIC_CHUNK_MS = 40;
const JITTER_MS = 80;

// ---- microphone -----------------------------------------------------------------------------

/** WebRTC carries microphone and camera as tracks and plays replies from its remote track. */
const viaTracks = () => app.transport === "webrtc";

function audioConstraints() {
  // Over WebRTC the browser's echo canceller has the reply as its reference: always on.
  const p = app.settings.processing || viaTracks();
  return { channelCount: 1, echoCancellation: p, noiseSuppression: p, autoGainControl: p };
}

export async function startMic() {
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
  app.session?.setTrack("audio", stream.getAudioTracks()[0] ?? null);
  syncMicTrack();
  const capture = new MicCapture({ chunkMs: MIC_CHUNK_MS, onChunk: onMicChunk });
  await capture.start(stream);
  app.mic.capture = capture;
}

async function stopMic() {
  await app.mic.capture?.stop();
  app.mic.stream?.getTracks().forEach((t) => t.stop());
  app.mic.capture = null;
  app.mic.stream = null;
  take(app.preroll);
}

function onMicChunk(pcm, rms, at) {
  app.stats.micLevel = rms;
  if (!app.mic.wanted) return;
  app.stats.micSamplesCaptured += pcm.length;
  noteMicClock(app.stats, app.stats.micSamplesCaptured, performance.timeOrigin + at, MIC_RATE,
    pcm.length);
  if (rms >= VOICE_GATE_RMS) heardVoice(app.latency, at);
  if (viaTracks()) return; // the track carries it
  if (app.session?.isLive) {
    if (mayStream()) sendMic(pcm, rms);
  } else if ((app.state === "connecting" || app.state === "reconnecting") && !pushToTalk()) {
    // Keep what the person says while we connect; send it once the session is live.
    keep(app.preroll, pcm, rms, (MIC_RATE * PREROLL_MS) / 1000);
  }
}

function sendMic(pcm, rms) {
  if (!app.session.sendAudio(encode(pcm))) return false;
  countMicSent(app.stats, pcm.length, rms);
  return true;
}

/** The session is live: send what was said while connecting. */
export function flushPreroll() {
  for (const [pcm, rms] of take(app.preroll)) {
    if (sendMic(pcm, rms)) app.stats.micPrerollSent += pcm.length;
  }
}

export function setMicWanted(on) {
  const was = app.mic.wanted;
  app.mic.wanted = on;
  syncMicTrack();
  setPressed($("btn-mic"), on, on ? "Microphone on" : "Microphone off");
  document.body.dataset.mic = on ? "on" : "off";
  // Tell the model the stream paused, so it does not wait for the end of a sentence.
  if (was && !on && pushToTalk()) endAllTalk();
  else if (was && !on) app.session?.sendAudioStreamEnd();
}

// ---- camera ---------------------------------------------------------------------------------

// Video is opportunistic: never delay audio for it. The browser's own buffer first, then what
// the gateway acknowledged (uplink.js): a frame is taken only when the link has room for it.
function congested() {
  if (app.session.bufferedAmount > VIDEO_BACKPRESSURE_BYTES) {
    app.stats.framesDropped += 1;
    return true;
  }
  const up = app.session.uplink;
  if (!up?.acks) return false;
  const now = performance.now();
  app.stats.uplink = up.report(now);
  if (up.paused && !app.cam.paused) {
    notice("The connection is too slow for video: the camera is paused, your voice goes first.",
      { kind: "warn" });
  }
  app.cam.paused = up.paused;
  if (up.wantFrame(now)) return false;
  app.stats.framesSkipped += 1;
  return true;
}

/** The encoded frame fits the uplink (always, without acknowledgements). */
function fits(b64) {
  const up = app.session.uplink;
  if (!up?.acks || up.frameReady(performance.now(), b64.length + 64)) return true; // + JSON
  app.stats.framesDropped += 1;
  return false;
}

export async function startCamera() {
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
  [app.cam.track] = stream.getVideoTracks();
  app.session?.setTrack("video", app.cam.track);
  const video = $("preview");
  video.srcObject = stream;
  await video.play().catch(() => {});
  app.sampler ??= new FrameSampler({
    video, fps: app.settings.fps, onFrame,
    shouldSkip: () => !app.session?.isLive || viaTracks() || congested(),
    shape: () => app.session?.uplink?.shape ?? { maxSide: MAX_SIDE, quality: 0.75 },
  });
  if (app.session?.isLive) app.sampler.start();
}

function stopCamera() {
  app.sampler?.stop();
  app.cam.track?.stop();
  app.cam.track = null;
  app.session?.setTrack("video", null);
  $("preview").srcObject = null;
}

async function onFrame(blob, width, height) {
  const s = app.session;
  if (!s?.isLive || s.bufferedAmount > VIDEO_BACKPRESSURE_BYTES) return; // encoding took a while
  const b64 = await encodeBlob(blob);
  if (!fits(b64) || !s.sendVideo(b64, "image/jpeg")) return;
  countFrameSent(app.stats, blob.size, width, height);
}

/** The session went live: frames flow if the camera is on. */
export function resumeCamera() {
  if (app.cam.wanted && app.cam.track) app.sampler?.start();
}

export function setCamWanted(on, { restart = true } = {}) {
  app.cam.wanted = on;
  setPressed($("btn-cam"), on, on ? "Camera on" : "Camera off");
  document.body.dataset.camera = on ? "on" : "off";
  if (!restart) return;
  if (!on) stopCamera();
  else if (isActive(app.state)) startCamera();
}

export function setVideoRate(fps) {
  app.settings.fps = fps;
  app.sampler?.setRate(fps);
}

// ---- playback -------------------------------------------------------------------------------

export function newPlayer() {
  const events = {
    onStats: (s) => playerReport(app.stats, s),
    onFlushed: (s) => flushDone(app.stats, s, performance.now()),
  };
  return viaTracks() ? new RtcPlayer(events) : new Player({ jitterMs: JITTER_MS, ...events });
}

/** What the WebRTC offer sends: the microphone and camera tracks open now (or null). */
export function mediaTracks() {
  return { audio: app.mic.stream?.getAudioTracks()[0] ?? null, video: app.cam.track };
}

// ---- all of it ------------------------------------------------------------------------------

/** Open what the conversation uses; a device that fails is reported, the rest continue. */
export async function startMedia() {
  await Promise.all([
    app.player.start(),
    startMic(),
    app.cam.wanted ? startCamera() : Promise.resolve(),
  ]);
}

export async function stopMedia() {
  app.sampler?.stop();
  stopCamera();
  await stopMic();
  await app.player?.stop();
  app.player = null;
}
