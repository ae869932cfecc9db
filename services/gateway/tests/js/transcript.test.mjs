// transcript.js: how streamed transcription fragments and whole turns become entries.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addEntry, appendFragment, captionTail, endReply, newCursor, shownText,
} from "../../livebus_gateway/static/transcript.js";

function strip(entries) {
  return entries.map((e) => ({ ...e }));
}

test("fragments extend the speaker's entry until the other side speaks", () => {
  const entries = [];
  const c = newCursor();
  assert.equal(appendFragment(entries, c, "user", " What do").created, true);
  assert.equal(appendFragment(entries, c, "user", " you see?").created, false);
  assert.equal(appendFragment(entries, c, "model", "A cup").created, true);
  appendFragment(entries, c, "model", " of tea.");
  assert.equal(appendFragment(entries, c, "user", " And now?").created, true);
  assert.deepEqual(strip(entries), [
    { role: "user", text: " What do you see?", kind: "speech" },
    { role: "model", text: "A cup of tea." },
    { role: "user", text: " And now?", kind: "speech" },
  ]);
  assert.equal(shownText(entries[0]), "What do you see?");
});

test("a whole turn ends the open entries: the next fragments start new ones", () => {
  const entries = [];
  const c = newCursor();
  appendFragment(entries, c, "model", "Hello");
  addEntry(entries, c, "user", "typed", { kind: "text" });
  appendFragment(entries, c, "model", "Hi again");
  assert.deepEqual(entries.map((e) => [e.role, e.text]),
    [["model", "Hello"], ["user", "typed"], ["model", "Hi again"]]);
  assert.equal(entries[1].kind, "text");
});

test("an interrupted reply is marked; a completed one is not", () => {
  const entries = [];
  const c = newCursor();
  appendFragment(entries, c, "model", "A long story");
  assert.equal(endReply(c, false), null);
  assert.equal(entries[0].interrupted, undefined);

  appendFragment(entries, c, "model", "Another long");
  const cut = endReply(c, true);
  assert.equal(cut, entries[1]);
  assert.equal(entries[1].interrupted, true);
  assert.deepEqual(c, newCursor());
  // After the reply ended, its words no longer extend it.
  appendFragment(entries, c, "model", "Next");
  assert.equal(entries.length, 3);
});

test("the reply in flight survives the person's words (barge-in marks the reply)", () => {
  const entries = [];
  const c = newCursor();
  appendFragment(entries, c, "model", "Once upon");
  appendFragment(entries, c, "user", " stop");
  assert.equal(endReply(c, true), entries[0]);
});

test("an interruption with no reply marks nothing", () => {
  assert.equal(endReply(newCursor(), true), null);
});

test("the caption keeps the last words, cut at a word boundary", () => {
  assert.equal(captionTail("  short  "), "short");
  const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
  const tail = captionTail(long);
  assert.ok(tail.startsWith("…word"), tail);
  assert.ok(tail.endsWith("word59"));
  assert.ok(tail.length <= 141);
  assert.ok(long.endsWith(tail.slice(1)));
});
