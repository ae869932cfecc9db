// The connection state, the latency pill and the audio levels (mic ring, ambient orb).

import { updateComposer } from "./composer.js";
import { $ } from "./dom.js";
import { isActive, latencyReadout, stateText } from "./format.js";
import { app } from "./state.js";
import { recordLatency } from "./stats.js";

export function setState(state, detail = {}) {
  app.state = state;
  document.body.dataset.state = state;
  $("conn-text").textContent = stateText(state, detail);
  const active = isActive(state);
  $("btn-start").setAttribute("aria-label", active ? "End conversation" : "Start conversation");
  $("start-label").textContent = active ? "End" : "Start";
  $("hero").setAttribute("aria-hidden", String(active));
  updateComposer();
}

export function showLatency(ms) {
  recordLatency(app.stats, ms);
  const { text, title } = latencyReadout(ms, app.stats.latencies);
  $("latency-text").textContent = text;
  $("latency-pill").title = title;
  $("latency-pill").classList.add("has-value");
}

/** Each frame: the levels as CSS variables (CSSOM, which the page's CSP allows). */
export function animate() {
  const st = app.stats;
  const mic = app.mic.wanted && app.state !== "idle" ? Math.min(1, st.micLevel * 8) : 0;
  const out = st.playing ? Math.min(1, st.outLevel * 5) : 0;
  const root = document.documentElement.style;
  root.setProperty("--mic", mic.toFixed(3));
  root.setProperty("--out", out.toFixed(3));
  document.body.dataset.speaking = st.playing ? "model" : mic > 0.15 ? "user" : "none";
  requestAnimationFrame(animate);
}
