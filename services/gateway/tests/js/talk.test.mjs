// talk.js: push-to-talk holders and the edges that send activityStart / activityEnd.
import assert from "node:assert/strict";
import { test } from "node:test";

import { isHeld, newTalk, press, release, releaseAll } from "../../livebus_gateway/static/talk.js";

test("one press starts a turn and its release ends it", () => {
  const t = newTalk();
  assert.equal(isHeld(t), false);
  assert.equal(press(t, "key"), true);
  assert.equal(isHeld(t), true);
  assert.equal(press(t, "key"), false, "a repeated key is the same turn");
  assert.equal(release(t, "key"), true);
  assert.equal(isHeld(t), false);
  assert.equal(t.turns, 1);
});

test("key and button held together are one turn, ended by the last to let go", () => {
  const t = newTalk();
  assert.equal(press(t, "key"), true);
  assert.equal(press(t, "pointer"), false);
  assert.equal(release(t, "key"), false, "the button still holds it");
  assert.equal(isHeld(t), true);
  assert.equal(release(t, "pointer"), true);
  assert.equal(t.turns, 1);
});

test("a release of what was not pressed ends nothing", () => {
  const t = newTalk();
  assert.equal(release(t, "key"), false);
  press(t, "pointer");
  assert.equal(release(t, "key"), false);
  assert.equal(isHeld(t), true);
});

test("releaseAll ends a held turn once", () => {
  const t = newTalk();
  assert.equal(releaseAll(t), false);
  press(t, "key");
  press(t, "pointer");
  assert.equal(releaseAll(t), true);
  assert.equal(releaseAll(t), false);
  assert.equal(isHeld(t), false);
  assert.equal(press(t, "key"), true, "the next press is a new turn");
  assert.equal(t.turns, 2);
});
