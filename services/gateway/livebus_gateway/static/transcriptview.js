// The transcript drawer and the live caption: app.transcript drawn as a list.

import { $ } from "./dom.js";
import { app } from "./state.js";
import {
  addEntry, appendFragment, captionTail, endReply, shownText,
} from "./transcript.js";

const CAPTION_LINGER_MS = 3500;
// An entry's DOM nodes (a cache of the view, not state: the entries are in app.transcript).
const nodes = new WeakMap();

function draw(entry) {
  const li = document.createElement("li");
  li.className = `msg ${entry.role}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = entry.role === "user" ? "You" : "Gemini";
  const body = document.createElement("p");
  body.className = "body";
  body.textContent = shownText(entry);
  li.append(who);
  if (entry.image) {
    const img = document.createElement("img");
    img.src = entry.image;
    img.alt = "Image you sent";
    img.className = "sent-image";
    li.append(img);
  }
  li.append(body);
  nodes.set(entry, { li, body });
  $("transcript").append(li);
  $("transcript-empty").hidden = true;
  scrollTranscript();
}

/** A whole turn the person sent (typed text, or an image with its question). */
export function addTurn(text, extra) {
  draw(addEntry(app.transcript, app.cursor, "user", text, extra));
}

/** A transcription fragment of `role` ("user" or "model"). */
export function addFragment(role, text) {
  const { entry, created } = appendFragment(app.transcript, app.cursor, role, text);
  if (created) draw(entry);
  else nodes.get(entry).body.textContent = shownText(entry);
  if (role === "model") showCaption(entry.text);
  scrollTranscript();
}

/** The model's turn ended, or was interrupted (barge-in). */
export function endModelTurn(interrupted) {
  const cut = endReply(app.cursor, interrupted);
  if (cut) nodes.get(cut)?.li.classList.add("interrupted");
  clearTimeout(app.timers.caption);
  app.timers.caption = setTimeout(() => { if (!app.cursor.model) hideCaption(); },
    CAPTION_LINGER_MS);
}

function scrollTranscript() {
  const list = $("transcript");
  list.scrollTop = list.scrollHeight;
}

function showCaption(text) {
  $("caption-text").textContent = captionTail(text);
  $("caption").classList.add("show");
}

function hideCaption() {
  $("caption").classList.remove("show");
}

export function toggleDrawer(open = $("drawer").hidden) {
  $("drawer").hidden = !open;
  document.body.dataset.drawer = open ? "open" : "closed";
  $("btn-transcript").setAttribute("aria-expanded", String(open));
  $("btn-transcript").setAttribute("aria-label", open ? "Hide transcript" : "Show transcript");
  if (open) scrollTranscript();
}
