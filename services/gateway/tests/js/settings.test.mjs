// settings.js: validation, saved entries, URL overrides.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULTS, STORAGE_KEY, chooseModel, fromQuery, isOff, loadSettings, modelLabel, parseSaved,
  saveSettings, validSettings,
} from "../../livebus_gateway/static/settings.js";

class MemoryStorage {
  constructor(items = {}) { this.items = new Map(Object.entries(items)); }
  getItem(k) { return this.items.has(k) ? this.items.get(k) : null; }
  setItem(k, v) { this.items.set(k, String(v)); }
}

test("every field falls back to its default when missing or of the wrong type", () => {
  assert.deepEqual(validSettings({}), { ...DEFAULTS });
  assert.deepEqual(validSettings(null), { ...DEFAULTS });
  assert.deepEqual(validSettings({
    model: 7, voice: "Nobody", system: { x: 1 }, fps: "fast", processing: "yes", pushToTalk: 1,
  }), { ...DEFAULTS });
});

test("valid values are kept; the model is trimmed; fps is bounded", () => {
  const s = validSettings({ model: " models/m ", voice: "Kore", system: "be brief", fps: 2,
    processing: false, pushToTalk: true, transport: "webrtc" });
  assert.deepEqual(s, { model: "models/m", voice: "Kore", system: "be brief", fps: 2,
    processing: false, pushToTalk: true, transport: "webrtc" });
  for (const fps of [0, -1, 5, Infinity, NaN]) assert.equal(validSettings({ fps }).fps, 1, `${fps}`);
  assert.equal(validSettings({ fps: 4 }).fps, 4);
  assert.equal(validSettings({ fps: "0.5" }).fps, 0.5);
});

test("a corrupt or foreign saved entry counts as nothing saved", () => {
  assert.deepEqual(parseSaved("{not json"), {});
  assert.deepEqual(parseSaved("[1,2]"), {});
  assert.deepEqual(parseSaved("null"), {});
  assert.deepEqual(parseSaved("42"), {});
  assert.deepEqual(parseSaved(null), {});
  assert.deepEqual(parseSaved('{"voice":"Leda"}'), { voice: "Leda" });
});

test("switches: off, false and 0 in any case", () => {
  for (const v of ["off", "OFF", "false", "False", "0"]) assert.equal(isOff(v), true, v);
  for (const v of ["on", "1", "true", "", null, undefined, "offline"]) assert.equal(isOff(v), false, `${v}`);
});

test("the URL overrides what was saved, which overrides the defaults", () => {
  const storage = new MemoryStorage({
    [STORAGE_KEY]: JSON.stringify({ voice: "Leda", fps: 2, system: "saved" }),
  });
  const params = new URLSearchParams("voice=Kore&processing=off&fps=4");
  assert.deepEqual(loadSettings(storage, params),
    { model: "", voice: "Kore", system: "saved", fps: 4, processing: false, pushToTalk: false,
      transport: "websocket" });
  assert.deepEqual(fromQuery(new URLSearchParams("")), {});
  assert.deepEqual(loadSettings(new MemoryStorage(), new URLSearchParams("fps=9&voice=<b>")),
    { ...DEFAULTS });
});

test("the transport: remembered, overridden by ?transport=, anything else is the WebSocket", () => {
  assert.equal(DEFAULTS.transport, "websocket");
  const storage = new MemoryStorage();
  saveSettings(storage, { ...DEFAULTS, transport: "webrtc" });
  assert.equal(loadSettings(storage, new URLSearchParams()).transport, "webrtc", "remembered");
  assert.equal(loadSettings(storage, new URLSearchParams("transport=websocket")).transport,
    "websocket", "a link's choice wins");
  assert.equal(loadSettings(new MemoryStorage(), new URLSearchParams("transport=webrtc")).transport,
    "webrtc");
  for (const t of ["WebRTC", "udp", "", "webrtc "]) {
    assert.equal(validSettings({ transport: t }).transport, "websocket", t);
  }
  assert.equal(fromQuery(new URLSearchParams("transport=webrtc")).transport, "webrtc");
});

test("a storage that throws (disabled, full) is survived", () => {
  const broken = { getItem() { throw new Error("denied"); }, setItem() { throw new Error("full"); } };
  assert.deepEqual(loadSettings(broken, new URLSearchParams()), { ...DEFAULTS });
  assert.doesNotThrow(() => saveSettings(broken, DEFAULTS));
});

test("saving stores only validated fields", () => {
  const storage = new MemoryStorage();
  saveSettings(storage, { ...DEFAULTS, voice: "Orus", extra: "<script>", fps: 99 });
  assert.deepEqual(JSON.parse(storage.getItem(STORAGE_KEY)), { ...DEFAULTS, voice: "Orus" });
});

test("the preselected model is the wanted one only if offered", () => {
  const models = ["models/a", "models/b"];
  assert.equal(chooseModel("models/b", models), "models/b");
  assert.equal(chooseModel("models/x", models), "models/a");
  assert.equal(chooseModel("", models), "models/a");
  assert.equal(chooseModel("models/x", []), "");
  assert.equal(modelLabel("models/gemini-live"), "gemini-live");
});

test("push-to-talk is off by default, remembered, and set by ?ptt=on|off", () => {
  assert.equal(DEFAULTS.pushToTalk, false);
  const storage = new MemoryStorage();
  saveSettings(storage, { ...DEFAULTS, pushToTalk: true });
  assert.equal(loadSettings(storage, new URLSearchParams()).pushToTalk, true);
  assert.equal(loadSettings(storage, new URLSearchParams("ptt=off")).pushToTalk, false);
  assert.equal(loadSettings(new MemoryStorage(), new URLSearchParams("ptt=on")).pushToTalk, true);
});
