// The livebus web client: camera + microphone conversation with Gemini Live through the gateway.
// No build step: plain ES modules, one per job (docs/web-client.md has the map). This one wires
// the controls and exposes the state object as `window.livebus` with the scripted entry points.

import { attachImage, sendComposer, wireComposer } from "./composer.js";
import { $, isTyping } from "./dom.js";
import { keyAction, keyUpAction } from "./keys.js";
import { setCamWanted, setMicWanted, setVideoRate } from "./media.js";
import { hideNotice } from "./notices.js";
import { endTalk, pushToTalk, showTalkMode, startTalk, wireTalk } from "./pushtotalk.js";
import { start, stop, toggle } from "./session.js";
import { fillSettings, loadConfig, openSettings, wireSettings } from "./settingsdialog.js";
import { app } from "./state.js";
import { animate, setState } from "./statusbar.js";
import { toggleDrawer } from "./transcriptview.js";

// Scripted use (and tests): the same paths the controls take.
Object.assign(app, {
  start,
  stop,
  sendText: async (text) => { $("text-input").value = text; return sendComposer(); },
  sendImage: async (blob) => { await attachImage(blob); return sendComposer(); },
  setMic: setMicWanted,
  setCamera: setCamWanted,
  setVideoRate,
  startTalk: () => startTalk("pointer"),
  endTalk: () => endTalk("pointer"),
});
window.livebus = app;

const ACTIONS = {
  "close-drawer": () => toggleDrawer(false),
  mic: () => setMicWanted(!app.mic.wanted),
  camera: () => setCamWanted(!app.cam.wanted),
  drawer: () => toggleDrawer(),
  settings: openSettings,
  start: () => $("btn-start").click(),
  talk: () => startTalk("key"),
  "talk-end": () => endTalk("key"),
};

function onKey(e) {
  const action = keyAction(
    { key: e.key, ctrl: e.ctrlKey, meta: e.metaKey, alt: e.altKey },
    { typing: isTyping(document.activeElement), settingsOpen: $("settings").open,
      drawerOpen: !$("drawer").hidden, bodyFocused: document.activeElement === document.body,
      pushToTalk: pushToTalk() && app.state === "live" },
  );
  if (!action) return;
  if (action === "talk" && e.repeat) {
    e.preventDefault(); // held: already talking
    return;
  }
  ACTIONS[action]();
  if (action !== "close-drawer") e.preventDefault();
}

function wire() {
  $("btn-start").addEventListener("click", toggle);
  $("btn-mic").addEventListener("click", () => setMicWanted(!app.mic.wanted));
  $("btn-cam").addEventListener("click", () => setCamWanted(!app.cam.wanted));
  $("btn-transcript").addEventListener("click", () => toggleDrawer());
  $("drawer-close").addEventListener("click", () => { toggleDrawer(false); $("btn-transcript").focus(); });
  $("notice-close").addEventListener("click", hideNotice);
  wireComposer();
  wireSettings();
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", (e) => {
    if (keyUpAction({ key: e.key }) && app.talk.holders.has("key")) {
      ACTIONS["talk-end"]();
      e.preventDefault(); // a focused button would take the Space as a click
    }
  });
  wireTalk();
}

async function main() {
  wire();
  setMicWanted(app.mic.wanted);
  setCamWanted(app.cam.wanted, { restart: false });
  showTalkMode(app.settings.pushToTalk);
  setState("idle");
  requestAnimationFrame(animate);
  await loadConfig();
  fillSettings();
  app.ready = true;
  if (app.params.get("transcript") === "open") toggleDrawer(true);
  if (app.params.get("autostart") === "1") start();
}

main();
