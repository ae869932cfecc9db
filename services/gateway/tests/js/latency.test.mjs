// latency.js: the readout from the end of the person's turn to the first reply audio.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  audioArrived, heardVoice, newLatency, replyEnded, reset, sentTurn,
} from "../../livebus_gateway/static/latency.js";

test("a spoken turn: from the last voiced chunk to the first audio", () => {
  const lat = newLatency();
  heardVoice(lat, 1000);
  heardVoice(lat, 1500);
  assert.equal(audioArrived(lat, 2200.4), 700);
  // The rest of the same reply is not a new readout.
  assert.equal(audioArrived(lat, 2300), null);
});

test("a typed turn: from the moment it was sent", () => {
  const lat = newLatency();
  heardVoice(lat, 100); // earlier speech no longer counts
  sentTurn(lat, 5000);
  assert.equal(audioArrived(lat, 5350), 350);
});

test("audio of a reply being barged into answers nothing new", () => {
  const lat = newLatency();
  sentTurn(lat, 0.5);
  assert.equal(audioArrived(lat, 100), 100);
  heardVoice(lat, 200); // the person talks over the reply
  assert.equal(audioArrived(lat, 210), null, "mid-reply audio");
  replyEnded(lat); // interrupted
  assert.equal(audioArrived(lat, 900), 700, "the answer to the interruption");
});

test("no readout when nothing was awaited, or after a stop", () => {
  const lat = newLatency();
  assert.equal(audioArrived(lat, 100), null);
  replyEnded(lat);
  sentTurn(lat, 100);
  reset(lat);
  assert.equal(audioArrived(lat, 300), null);
});
