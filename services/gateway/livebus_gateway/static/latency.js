// The latency readout: end of the person's turn to the first audio of the reply (pure).
// awaiting: the person said or sent something since the last reply started;
// replyOpen: a model turn is streaming (between its first audio and turnComplete/interrupted).

export function newLatency() {
  return { awaiting: false, replyOpen: false, markAt: 0, lastVoicedAt: 0 };
}

/** A microphone chunk above the speech gate arrived at `at` (ms). */
export function heardVoice(lat, at) {
  lat.lastVoicedAt = at;
  lat.awaiting = true;
}

/** A typed message or an image was sent at `now` (ms). */
export function sentTurn(lat, now) {
  lat.markAt = now;
  lat.lastVoicedAt = 0;
  lat.awaiting = true;
}

/**
 * Reply audio arrived at `now`: the latency in ms when it is the first audio of a reply the
 * person is waiting for, else null (audio of a reply being barged into answers nothing new).
 */
export function audioArrived(lat, now) {
  if (lat.replyOpen) return null;
  lat.replyOpen = true;
  if (!lat.awaiting) return null;
  lat.awaiting = false;
  const mark = Math.max(lat.lastVoicedAt, lat.markAt);
  return mark > 0 ? Math.round(now - mark) : null;
}

/** The reply is over (turnComplete, interrupted, a new connection). */
export function replyEnded(lat) {
  lat.replyOpen = false;
}

/** Stopped: nothing is awaited any more. */
export function reset(lat) {
  lat.awaiting = false;
  lat.replyOpen = false;
}
