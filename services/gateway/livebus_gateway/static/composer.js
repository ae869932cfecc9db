// The composer: typed messages and images (picker, paste, drop) sent as turns.

import { encodeBlob } from "./b64.js";
import { imageToJpeg } from "./camera.js";
import { $ } from "./dom.js";
import { sentTurn } from "./latency.js";
import { notice } from "./notices.js";
import { app } from "./state.js";
import { addTurn } from "./transcriptview.js";

export function updateComposer() {
  const live = app.state === "live";
  const hasContent = $("text-input").value.trim() !== "" || app.attachment !== null;
  $("btn-send").disabled = !(live && hasContent);
  $("text-input").placeholder = live ? "Type a message…" : "Start to type a message…";
}

export async function attachImage(file) {
  if (!file || !file.type.startsWith("image/")) return;
  try {
    const { blob, width, height } = await imageToJpeg(file);
    if (app.attachment) URL.revokeObjectURL(app.attachment.url);
    app.attachment = { blob, width, height, url: URL.createObjectURL(blob), name: file.name };
    $("attachment-img").src = app.attachment.url;
    $("attachment").hidden = false;
    $("text-input").placeholder = "Add a question about the image (optional)";
    $("text-input").focus();
  } catch (e) {
    notice(`That image could not be read (${e.message}).`, { kind: "warn" });
  }
  updateComposer();
}

/** Forget the attachment; its object URL stays valid while the transcript shows it. */
export function clearAttachment({ revoke = true } = {}) {
  if (revoke && app.attachment) URL.revokeObjectURL(app.attachment.url);
  app.attachment = null;
  $("attachment").hidden = true;
  $("file-input").value = "";
  updateComposer();
}

/** Send what the composer holds; false when nothing was sent. */
export async function sendComposer() {
  const input = $("text-input");
  const text = input.value.trim();
  const s = app.session;
  if (!s?.isLive || (!text && !app.attachment)) return false;
  if (app.attachment) {
    const a = app.attachment;
    // Images go as a conversation turn (client_content), so the model answers about them.
    if (!s.sendImageTurn(await encodeBlob(a.blob), "image/jpeg", text || undefined)) return false;
    app.stats.imagesSent += 1;
    addTurn(text, { kind: "image", image: a.url });
    clearAttachment({ revoke: false });
  } else {
    if (!s.sendText(text)) return false;
    app.stats.textsSent += 1;
    addTurn(text, { kind: "text" });
  }
  sentTurn(app.latency, performance.now());
  input.value = "";
  updateComposer();
  return true;
}

function firstImage(list) {
  return [...(list ?? [])].find((i) => i.type.startsWith("image/")) ?? null;
}

export function wireComposer() {
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); sendComposer(); });
  $("text-input").addEventListener("input", updateComposer);
  $("btn-image").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (e) => attachImage(e.target.files?.[0]));
  $("attachment-remove").addEventListener("click", () => clearAttachment());
  document.addEventListener("paste", (e) => {
    const item = firstImage(e.clipboardData?.items);
    if (item) {
      e.preventDefault();
      attachImage(item.getAsFile());
    }
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    const file = firstImage(e.dataTransfer?.files);
    if (file) {
      e.preventDefault();
      attachImage(file);
    }
  });
}
