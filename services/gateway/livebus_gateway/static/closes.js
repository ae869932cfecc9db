// Close codes: what a close means for the person, whether to retry, and how long to wait.

export const CLOSE = {
  NORMAL: 1000, GOING_AWAY: 1001, ABNORMAL: 1006, INVALID_ARGUMENT: 1007, POLICY: 1008,
  TOO_BIG: 1009, INTERNAL: 1011, TRY_AGAIN: 1013,
};

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;

/** What a close means for the person, and whether to try again. */
export function describeClose(code, reason) {
  const why = reason ? `: ${reason}` : "";
  const tokenProblem = /token|expired|already been used/i.test(reason || "");
  switch (code) {
    case CLOSE.NORMAL:
      return { kind: "ended", retry: false, text: `The session ended${why}.` };
    case CLOSE.POLICY:
      if (tokenProblem) {
        return { kind: "token", retry: true, text: `Your access token was not accepted${why}. Getting a fresh one…` };
      }
      return { kind: "refused", retry: false, text: `The gateway refused the session${why}.` };
    case CLOSE.INVALID_ARGUMENT:
      return { kind: "refused", retry: false, text: `The session was refused (invalid request)${why}.` };
    case CLOSE.TRY_AGAIN:
      return { kind: "busy", retry: true, text: `The service is busy right now${why}.` };
    case CLOSE.TOO_BIG:
      return { kind: "refused", retry: true, text: `A message was too large for the gateway${why}.` };
    case CLOSE.INTERNAL:
      return { kind: "lost", retry: true, text: `The server had a problem${why}.` };
    case CLOSE.GOING_AWAY:
      return { kind: "lost", retry: true, text: `The gateway is restarting${why}.` };
    default:
      return { kind: "lost", retry: true, text: "The connection was lost." };
  }
}

export function backoffMs(attempt) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
