// Push-to-talk (pure): who holds the talk control (the Space key, the talk button, or both)
// and when a held turn starts or ends. The page sends activityStart / activityEnd on those
// edges and microphone audio only while the control is held.

export function newTalk() {
  return { holders: new Set(), turns: 0 };
}

export function isHeld(talk) {
  return talk.holders.size > 0;
}

/** `source` ("key" | "pointer") pressed: true when this starts a turn. */
export function press(talk, source) {
  const starts = !isHeld(talk);
  talk.holders.add(source);
  if (starts) talk.turns += 1;
  return starts;
}

/** `source` let go: true when that ends the turn (nothing else still holds it). */
export function release(talk, source) {
  return talk.holders.delete(source) && !isHeld(talk);
}

/** Everything lets go (focus lost, microphone off, session over): true when a turn ended. */
export function releaseAll(talk) {
  const held = isHeld(talk);
  talk.holders.clear();
  return held;
}
