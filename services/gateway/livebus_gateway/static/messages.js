// Server messages (pure): what each says, as events; the answer to a tool call.

import { decode } from "./b64.js";

/**
 * What a server message says, in order, as [event, ...args]: ["live"], ["interrupted"],
 * ["inputText", text], ["audio", Uint8Array, mime], ["outputText", text], ["generationComplete"],
 * ["turnComplete", usage], ["toolCall", toolCall], ["handle", newHandle]. Unknown fields are
 * ignored.
 */
export function serverEvents(msg) {
  const out = [];
  if (!msg || typeof msg !== "object") return out;
  if (msg.setupComplete) out.push(["live"]);
  const sc = msg.serverContent;
  if (sc && typeof sc === "object") {
    if (sc.interrupted) out.push(["interrupted"]);
    if (typeof sc.inputTranscription?.text === "string" && sc.inputTranscription.text) {
      out.push(["inputText", sc.inputTranscription.text]);
    }
    const parts = Array.isArray(sc.modelTurn?.parts) ? sc.modelTurn.parts : [];
    for (const part of parts) {
      const inline = part?.inlineData ?? part?.inline_data;
      const mime = String(inline?.mimeType ?? inline?.mime_type ?? "audio/pcm");
      if (typeof inline?.data === "string" && inline.data && mime.startsWith("audio/")) {
        out.push(["audio", decode(inline.data), mime]);
      }
    }
    if (typeof sc.outputTranscription?.text === "string" && sc.outputTranscription.text) {
      out.push(["outputText", sc.outputTranscription.text]);
    }
    if (sc.generationComplete) out.push(["generationComplete"]);
    if (sc.turnComplete) out.push(["turnComplete", msg.usageMetadata]);
  }
  if (msg.toolCall && typeof msg.toolCall === "object") out.push(["toolCall", msg.toolCall]);
  const update = msg.sessionResumptionUpdate;
  if (update?.resumable && typeof update.newHandle === "string" && update.newHandle) {
    out.push(["handle", update.newHandle]);
  }
  return out;
}

/** This page declares no tools; it answers any call anyway so the model is never left waiting. */
export function toolErrorResponse(toolCall) {
  const calls = Array.isArray(toolCall?.functionCalls) ? toolCall.functionCalls : [];
  const functionResponses = calls.map((c) => ({
    id: c?.id, name: c?.name, response: { error: "this client has no tools" },
  }));
  return { tool_response: { functionResponses } };
}
