// The transcript as data: entries and where streamed fragments go (pure; the view is elsewhere).
// An entry is {role: "user"|"model", text, kind?, image?, interrupted?}.

/** Which entries fragments extend, and the model entry of the reply in flight. */
export function newCursor() {
  return { user: null, model: null, reply: null };
}

/** A whole entry (typed text, an image): the next fragments start new entries. */
export function addEntry(entries, cursor, role, text, extra = {}) {
  const entry = { role, text, ...extra };
  entries.push(entry);
  cursor.user = null;
  cursor.model = null;
  return entry;
}

/**
 * A transcription fragment: extends the speaker's open entry or starts one.
 * Returns {entry, created}. A user fragment ends the model's entry and the other way round.
 */
export function appendFragment(entries, cursor, role, text) {
  const other = role === "user" ? "model" : "user";
  cursor[other] = null;
  let created = false;
  if (!cursor[role]) {
    const entry = { role, text: "" };
    if (role === "user") entry.kind = "speech";
    entries.push(entry);
    cursor[role] = entry;
    if (role === "model") cursor.reply = entry;
    created = true;
  }
  cursor[role].text += text;
  return { entry: cursor[role], created };
}

/** The reply ended (turnComplete, or interrupted); returns the entry marked interrupted, if any. */
export function endReply(cursor, interrupted) {
  const reply = cursor.reply;
  cursor.user = null;
  cursor.model = null;
  cursor.reply = null;
  if (reply && interrupted) {
    reply.interrupted = true;
    return reply;
  }
  return null;
}

/** What an entry shows (transcription fragments start with a space). */
export function shownText(entry) {
  return entry.text.trimStart();
}

/** The live caption: the last ~`max` characters, cut at a word. */
export function captionTail(text, max = 140) {
  const words = text.trim();
  return words.length > max ? `…${words.slice(-max).replace(/^\S*\s/, "")}` : words;
}
