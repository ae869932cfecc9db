// Keyboard shortcuts (pure): which action a key press asks for, or null.
//   Escape: close the transcript; M / V: microphone / camera; T: transcript; ",": settings;
//   Space (nothing focused): start / end; in a push-to-talk session, Space held: talk.

/**
 * `ev` is {key, ctrl, meta, alt}; `ctx` is {typing, settingsOpen, drawerOpen, bodyFocused,
 * pushToTalk}. Returns "close-drawer" | "mic" | "camera" | "drawer" | "settings" | "start" |
 * "talk" | null.
 */
export function keyAction(ev, ctx) {
  if (ev.key === "Escape" && ctx.drawerOpen && !ctx.settingsOpen) return "close-drawer";
  if (ev.ctrl || ev.meta || ev.alt || ctx.typing || ctx.settingsOpen) return null;
  const k = ev.key.toLowerCase();
  if (k === "m") return "mic";
  if (k === "v") return "camera";
  if (k === "t") return "drawer";
  if (k === ",") return "settings";
  if (k === " " && ctx.pushToTalk) return "talk";
  if (k === " " && ctx.bodyFocused) return "start";
  return null;
}

/** A key let go: Space ends a push-to-talk turn (wherever focus went meanwhile). */
export function keyUpAction(ev) {
  return ev.key === " " ? "talk-end" : null;
}
