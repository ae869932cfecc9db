// format.js: what the page says about states, notices and latency.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  isActive, latencyReadout, sessionNotice, stateText,
} from "../../livebus_gateway/static/format.js";

test("states", () => {
  assert.equal(stateText("idle"), "Ready");
  assert.equal(stateText("live"), "Live");
  assert.equal(stateText("reconnecting"), "Reconnecting…");
  assert.equal(stateText("reconnecting", { retryInMs: 2400 }), "Reconnecting in 2 s…");
  assert.equal(stateText("reconnecting", { retryInMs: 300 }), "Reconnecting in 1 s…");
  assert.equal(stateText("odd"), "odd");
  assert.deepEqual(["idle", "connecting", "live", "reconnecting", "error"].map(isActive),
    [false, true, true, true, false]);
});

test("session notices: sticky unless informative, Start again when the session is over", () => {
  assert.deepEqual(sessionNotice({ kind: "lost", text: "The connection was lost.", retryInMs: 1500 }),
    { text: "The connection was lost. Reconnecting in 1.5 s.", kind: "error", sticky: true,
      restart: false });
  assert.deepEqual(sessionNotice({ kind: "token", text: "Getting a fresh one…" }),
    { text: "Getting a fresh one…", kind: "info", sticky: false, restart: false });
  for (const kind of ["gave-up", "refused", "ended"]) {
    const n = sessionNotice({ kind, text: "x" });
    assert.equal(n.restart, true, kind);
    assert.equal(n.sticky, true, kind);
  }
});

test("the latency pill averages the last ten readouts", () => {
  const all = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 1100];
  const r = latencyReadout(1100, all);
  assert.equal(r.text, "1100 ms");
  assert.match(r.title, /average of last 10: 200 ms/);
  assert.match(latencyReadout(5, [5]).title, /average of last 1: 5 ms/);
});
