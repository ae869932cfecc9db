// Push-to-talk: while the Space key (not while typing) or the talk button is held, the page
// opens a turn with activityStart, streams the microphone, and closes it with activityEnd; while
// neither is held it streams nothing. The session's setup disabled automatic activity detection.
// Over WebRTC the microphone's track is muted while nothing is held (the peer connection then
// sends silence); the edge itself passes on only the audio inside the activities
// (docs/webrtc.md).

import { $ } from "./dom.js";
import { notice } from "./notices.js";
import { app } from "./state.js";
import { isHeld, press, release, releaseAll } from "./talk.js";

/** The session was set up for push-to-talk (the setting applies from the next start). */
export function pushToTalk() {
  return Boolean(app.session?.settings?.pushToTalk);
}

/** Whether microphone audio goes upstream now: always, or in push-to-talk while held. */
export function mayStream() {
  return !pushToTalk() || isHeld(app.talk);
}

/**
 * The microphone track is on while the microphone is wanted, and over WebRTC (which sends the
 * track itself) only while its audio may go upstream: muted between push-to-talk turns.
 */
export function syncMicTrack() {
  const on = app.mic.wanted && (app.transport !== "webrtc" || mayStream());
  app.mic.stream?.getAudioTracks().forEach((t) => { t.enabled = on; });
}

/** The talk button shows (and Space holds) in push-to-talk mode. */
export function showTalkMode(on) {
  document.body.dataset.ptt = on ? "on" : "off";
}

function showHeld() {
  const held = isHeld(app.talk);
  document.body.dataset.talking = held ? "on" : "off";
  $("btn-talk").setAttribute("aria-label", held ? "Talking: release to send" : "Hold to talk");
}

export function startTalk(source) {
  if (!pushToTalk() || !app.session.isLive) return;
  if (!app.mic.wanted) {
    notice("The microphone is off: turn it on (M) to talk.", { kind: "warn" });
    return;
  }
  if (press(app.talk, source)) app.session.sendActivityStart();
  syncMicTrack(); // after activityStart: what the track says next is the turn's
  showHeld();
}

export function endTalk(source) {
  if (release(app.talk, source)) app.session?.sendActivityEnd();
  syncMicTrack();
  showHeld();
}

/** Focus lost, microphone off, session gone: a held turn ends. */
export function endAllTalk() {
  if (releaseAll(app.talk)) app.session?.sendActivityEnd();
  syncMicTrack();
  showHeld();
}

export function wireTalk() {
  const b = $("btn-talk");
  b.addEventListener("pointerdown", (e) => {
    b.setPointerCapture(e.pointerId);
    startTalk("pointer");
  });
  for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
    b.addEventListener(name, () => endTalk("pointer"));
  }
  b.addEventListener("contextmenu", (e) => e.preventDefault()); // a long touch is not a menu
  window.addEventListener("blur", endAllTalk); // a key released elsewhere never comes back
}
