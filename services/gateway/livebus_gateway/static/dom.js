// Small DOM helpers shared by the view modules.

export const $ = (id) => document.getElementById(id);

/** A toggle button's pressed state and its label. */
export function setPressed(button, on, label) {
  button.setAttribute("aria-pressed", String(on));
  button.setAttribute("aria-label", label);
}

/** Focus is in a field that takes typing (shortcuts stay out of its way). */
export function isTyping(el) {
  return Boolean(el) && (el.tagName === "INPUT" || el.tagName === "TEXTAREA"
    || el.tagName === "SELECT" || el.isContentEditable);
}
