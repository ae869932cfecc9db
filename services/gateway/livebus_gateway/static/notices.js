// The notice box (role="alert"): one message at a time, with an optional action button.

import { $ } from "./dom.js";
import { app } from "./state.js";

const SHOWN_MS = 7000;

/** Show `text`; `action` {label, run} adds a button; non-sticky notices hide after 7 s. */
export function notice(text, { kind = "info", action = null, sticky = false } = {}) {
  app.notices.push({ kind, text, at: Date.now() });
  const box = $("notice");
  box.dataset.kind = kind;
  $("notice-text").textContent = text;
  const btn = $("notice-action");
  btn.hidden = !action;
  btn.onclick = action ? () => { hideNotice(); action.run(); } : null;
  if (action) btn.textContent = action.label;
  box.hidden = false;
  clearTimeout(app.timers.notice);
  app.timers.notice = sticky ? null : setTimeout(hideNotice, SHOWN_MS);
}

export function hideNotice() {
  clearTimeout(app.timers.notice);
  app.timers.notice = null;
  $("notice").hidden = true;
}
