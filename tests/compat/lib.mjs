// Shared by the conformance scripts: the stock @google/genai SDK pointed at livebus by base URL.
// Every script prints JSON lines on stdout ({"ev": ..., ...}); the pytest side asserts on them.

import { GoogleGenAI } from '@google/genai';

export const BASE_URL = need('LIVEBUS_BASE_URL');
export const API_KEY = need('LIVEBUS_API_KEY');
export const MODEL = need('LIVEBUS_MODEL');
const WAIT_MS = Number(process.env.LIVEBUS_WAIT_MS || 20000);

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function emit(ev, fields = {}) {
  process.stdout.write(JSON.stringify({ ev, ...fields }) + '\n');
}

/** The SDK as an application would build it: a key (or token) and the base URL, nothing else. */
export function client(apiKey = API_KEY, apiVersion = 'v1beta') {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: BASE_URL, apiVersion } });
}

/** A live connection whose messages queue up in arrival order, read with next()/turn(). */
export class Live {
  constructor() {
    this.queue = [];
    this.order = []; // [top-level keys, how many in a row] of what the SDK delivered, in order
    this.waiters = [];
    this.closed = null;
    this.closedPromise = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  static async open(ai, config, model = MODEL) {
    const live = new Live();
    const callbacks = {
      onmessage: (msg) => live.push(msg),
      onerror: () => {},
      onclose: (e) => live.close({ code: e.code, reason: String(e.reason || '') }),
    };
    // connect() waits for setupComplete and never settles if the server closes first.
    const connecting = ai.live.connect({ model, config, callbacks });
    const refused = live.closedPromise.then((c) => { throw Object.assign(new Error('closed'), c); });
    live.session = await Promise.race([connecting, refused, timeout('connect')]);
    emit('setupComplete', { sessionId: live.session.setupComplete?.sessionId ?? null });
    return live;
  }

  push(msg) {
    const keys = Object.keys(msg).filter((k) => msg[k] !== undefined).join('+');
    const last = this.order[this.order.length - 1];
    if (last && last[0] === keys) last[1] += 1;
    else this.order.push([keys, 1]);
    this.queue.push(msg);
    this.wake();
  }

  close(info) {
    if (this.closed) return;
    this.closed = info;
    this.resolveClosed(info);
    this.wake();
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next message, or null once the socket closed and nothing is left. */
  async next(ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    while (!this.queue.length) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${ms} ms`);
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, left);
      });
    }
    return this.queue.shift();
  }

  /** Messages up to and including turnComplete (or a toolCall), summarised. */
  async turn({ stopAtToolCall = false } = {}) {
    const t = { audioBytes: 0, outputText: '', inputText: '', text: '', toolCalls: [],
      handles: [], usage: null, turnComplete: false, interrupted: false };
    for (;;) {
      const msg = await this.next();
      if (msg === null) break;
      if (msg.usageMetadata) t.usage = msg.usageMetadata;
      const upd = msg.sessionResumptionUpdate;
      if (upd && upd.resumable && upd.newHandle) t.handles.push(upd.newHandle);
      if (msg.toolCall) {
        t.toolCalls.push(...(msg.toolCall.functionCalls || []));
        if (stopAtToolCall) break;
      }
      const sc = msg.serverContent;
      if (!sc) continue;
      for (const part of sc.modelTurn?.parts || []) {
        if (part.inlineData?.data) t.audioBytes += Buffer.from(part.inlineData.data, 'base64').length;
        if (part.text) t.text += part.text;
      }
      t.inputText += sc.inputTranscription?.text || '';
      t.outputText += sc.outputTranscription?.text || '';
      t.interrupted ||= Boolean(sc.interrupted);
      if (sc.turnComplete) {
        t.turnComplete = true;
        break;
      }
    }
    return t;
  }

  /** Read on (after a turn) until a resumable handle arrives; the last one seen wins. */
  async handle(ms = 5000) {
    for (;;) {
      const msg = await this.next(ms);
      if (msg === null) return null;
      const upd = msg.sessionResumptionUpdate;
      if (upd && upd.resumable && upd.newHandle) return upd.newHandle;
    }
  }

  /** Close from the client; what closed, and the order everything arrived in. */
  async end() {
    this.session.close();
    await Promise.race([this.closedPromise, timeout('close', 5000)]);
    return { ...this.closed, order: this.order };
  }
}

function timeout(what, ms = WAIT_MS) {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms).unref();
  });
}

/** Run a case: print what went wrong as an event (and exit 1) rather than a stack trace. */
export async function main(run) {
  try {
    await run();
    emit('done');
    process.exit(0);
  } catch (e) {
    emit('error', { message: String(e.message || e), code: e.code ?? null, reason: e.reason ?? null });
    process.exit(1);
  }
}
