// Keyboard shortcuts (pure): which action a key press asks for, or null.
//   Escape: close the transcript; M / V: microphone / camera; T: transcript; ",": settings;
//   Space (nothing focused): start / end.

/**
 * `ev` is {key, ctrl, meta, alt}; `ctx` is {typing, settingsOpen, drawerOpen, bodyFocused}.
 * Returns "close-drawer" | "mic" | "camera" | "drawer" | "settings" | "start" | null.
 */
export function keyAction(ev, ctx) {
  if (ev.key === "Escape" && ctx.drawerOpen && !ctx.settingsOpen) return "close-drawer";
  if (ev.ctrl || ev.meta || ev.alt || ctx.typing || ctx.settingsOpen) return null;
  const k = ev.key.toLowerCase();
  if (k === "m") return "mic";
  if (k === "v") return "camera";
  if (k === "t") return "drawer";
  if (k === ",") return "settings";
  if (k === " " && ctx.bodyFocused) return "start";
  return null;
}
