// keys.js: keyboard shortcuts.
import assert from "node:assert/strict";
import { test } from "node:test";

import { keyAction, keyUpAction } from "../../livebus_gateway/static/keys.js";

const idle = { typing: false, settingsOpen: false, drawerOpen: false, bodyFocused: true };
const press = (key, ctx = idle, mods = {}) => keyAction({ key, ...mods }, ctx);

test("letters, comma and space", () => {
  assert.equal(press("m"), "mic");
  assert.equal(press("M"), "mic");
  assert.equal(press("v"), "camera");
  assert.equal(press("t"), "drawer");
  assert.equal(press(","), "settings");
  assert.equal(press(" "), "start");
  assert.equal(press("x"), null);
});

test("space starts only when nothing is focused", () => {
  assert.equal(press(" ", { ...idle, bodyFocused: false }), null);
});

test("typing, modifiers and the open dialog take precedence", () => {
  assert.equal(press("m", { ...idle, typing: true }), null);
  assert.equal(press("m", { ...idle, settingsOpen: true }), null);
  for (const mod of ["ctrl", "meta", "alt"]) assert.equal(press("t", idle, { [mod]: true }), null);
});

test("Escape closes the drawer, unless the settings dialog is open (it closes itself)", () => {
  assert.equal(press("Escape", { ...idle, drawerOpen: true }), "close-drawer");
  assert.equal(press("Escape", { ...idle, drawerOpen: true, typing: true }), "close-drawer");
  assert.equal(press("Escape", { ...idle, drawerOpen: true, settingsOpen: true }), null);
  assert.equal(press("Escape"), null);
});

test("in a push-to-talk session Space talks, wherever focus is, but never while typing", () => {
  const ptt = { ...idle, pushToTalk: true };
  assert.equal(press(" ", ptt), "talk");
  assert.equal(press(" ", { ...ptt, bodyFocused: false }), "talk", "a focused button too");
  assert.equal(press(" ", { ...ptt, typing: true }), null, "a space in the composer is a space");
  assert.equal(press(" ", { ...ptt, settingsOpen: true }), null);
  assert.equal(press(" ", ptt, { ctrl: true }), null);
  assert.equal(press("m", ptt), "mic");
  assert.equal(keyUpAction({ key: " " }), "talk-end");
  assert.equal(keyUpAction({ key: "m" }), null);
});
