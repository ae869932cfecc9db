// The settings dialog and the gateway's page configuration (GET /config).

import { $ } from "./dom.js";
import { notice } from "./notices.js";
import { whipUrl } from "./rtc.js";
import { showTalkMode } from "./pushtotalk.js";
import { app } from "./state.js";
import { chooseModel, modelLabel, saveSettings, validSettings } from "./settings.js";

/** The gateway's offer: models, whether it hands out dev tokens, the API version. */
export async function loadConfig() {
  try {
    const r = await fetch("config", { cache: "no-store" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    app.config = await r.json();
  } catch (e) {
    app.config = { models: [], devTokens: true, apiVersion: "v1alpha" };
    notice(`Could not read the gateway's configuration (${e.message}).`, { kind: "warn" });
  }
  if (!app.settings.model) app.settings.model = app.config.models?.[0] ?? "";
}

export function fillSettings() {
  const s = app.settings;
  const models = app.config?.models ?? [];
  const sel = $("set-model");
  sel.replaceChildren(...models.map((m) => {
    const o = document.createElement("option");
    o.value = m;
    o.textContent = modelLabel(m);
    return o;
  }));
  sel.value = chooseModel(s.model, models);
  $("set-voice").value = s.voice;
  $("set-system").value = s.system;
  $("set-fps").value = String(s.fps);
  $("set-processing").checked = s.processing;
  $("set-ptt").checked = s.pushToTalk;
  $("set-transport").value = s.transport;
  // WebRTC is offered only when the gateway names a WHIP endpoint.
  $("set-transport").querySelector('[value="webrtc"]').disabled = !whipUrl(app.config);
}

export function openSettings() {
  fillSettings();
  $("settings").showModal();
}

function onSettingsClosed() {
  $("btn-settings").focus(); // back to where the dialog came from
  if ($("settings").returnValue !== "save") return;
  app.settings = validSettings({
    model: $("set-model").value,
    voice: $("set-voice").value,
    system: $("set-system").value,
    fps: Number($("set-fps").value),
    processing: $("set-processing").checked,
    pushToTalk: $("set-ptt").checked,
    transport: $("set-transport").value,
  });
  saveSettings(localStorage, app.settings);
  app.sampler?.setRate(app.settings.fps);
  if (app.state === "live") {
    notice("Saved. Voice, model, instructions and push-to-talk apply from the next start.");
  } else if (app.state === "idle" || app.state === "error") {
    showTalkMode(app.settings.pushToTalk);
  }
}

export function wireSettings() {
  $("btn-settings").addEventListener("click", openSettings);
  $("settings").addEventListener("close", onSettingsClosed);
}
