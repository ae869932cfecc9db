// Words the page shows for states, notices and the latency readout (pure).

const STATE_TEXT = {
  idle: "Ready", connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…",
  error: "Disconnected",
};

/** A conversation is under way (or being set up) in these states. */
export function isActive(state) {
  return state !== "idle" && state !== "error";
}

export function stateText(state, detail = {}) {
  if (state === "reconnecting" && detail.retryInMs) {
    return `Reconnecting in ${Math.max(1, Math.round(detail.retryInMs / 1000))} s…`;
  }
  return STATE_TEXT[state] ?? state;
}

/**
 * How to show a LiveSession notice ({kind, text, retryInMs}): the text, the box's kind,
 * whether it stays until dismissed, and whether it offers "Start again".
 */
export function sessionNotice({ kind, text, retryInMs }) {
  let full = text;
  if (retryInMs) full += ` Reconnecting in ${(retryInMs / 1000).toFixed(1)} s.`;
  return {
    text: full,
    kind: kind === "token" ? "info" : "error",
    sticky: kind !== "info" && kind !== "token",
    restart: kind === "gave-up" || kind === "refused" || kind === "ended",
  };
}

/** The latency pill: its text and tooltip, from the latest and all readouts. */
export function latencyReadout(ms, latencies) {
  const recent = latencies.slice(-10);
  const n = Math.max(1, recent.length);
  const avg = Math.round(recent.reduce((a, b) => a + b, 0) / n);
  return {
    text: `${ms} ms`,
    title: `First reply audio ${ms} ms after you stopped speaking `
      + `(average of last ${recent.length}: ${avg} ms)`,
  };
}
