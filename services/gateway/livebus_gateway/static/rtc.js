// The WebRTC transport: a WHIP session (RFC 9725) whose data channel `gemini` carries the same
// Gemini Live JSON as the WebSocket, with the microphone and camera as media tracks and reply
// audio on the remote track. `RtcTransport` looks like a WebSocket to `LiveSession`
// (readyState, send, close, onopen/onmessage/onclose with close codes), so nothing else in
// the page branches on the transport (docs/web-client.md, "WebRTC").

import { CLOSE } from "./closes.js";

export const CHANNEL = "gemini";
const GATHER_TIMEOUT_MS = 3000; // non-trickle WHIP: the offer waits for its candidates, this long
const CONNECT_TIMEOUT_MS = 15000; // WHIP answer to data channel open
const STATE = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };
// The edge passes on at most 3 camera frames a second within 512x512 (its VideoGate defaults),
// so the camera is sent no faster and no larger: this saves the uplink and the edge's decoding
// (docs/webrtc.md, "Media and what it costs").
export const VIDEO_CAP = { maxFramerate: 3, maxSide: 512, maxBitrate: 300_000 };

/** The video sender's encoding for `track` (its size from getSettings), within VIDEO_CAP. */
export function videoEncoding(track) {
  const { width = 0, height = 0 } = track?.getSettings?.() ?? {};
  const side = Math.max(width, height);
  return {
    maxFramerate: VIDEO_CAP.maxFramerate, maxBitrate: VIDEO_CAP.maxBitrate,
    scaleResolutionDownBy: side > VIDEO_CAP.maxSide ? side / VIDEO_CAP.maxSide : 1,
  };
}

/** WebRTC when asked for and the gateway names a WHIP endpoint; else the WebSocket. */
export function chooseTransport(settings, config) {
  return settings.transport === "webrtc" && whipUrl(config) ? "webrtc" : "websocket";
}

/** The WHIP endpoint the gateway's /config names (absolute, or relative to the page). */
export function whipUrl(config) {
  const w = config?.webrtc?.whip;
  return typeof w === "string" && w ? w : null;
}

/** ICE servers from /config (STUN), each with only the fields RTCPeerConnection takes. */
export function iceServers(config) {
  return iceServerList(config?.webrtc?.iceServers);
}

/** An iceServers list as /config or a token response (minted TURN credentials) gives it. */
export function iceServerList(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((s) => s && (typeof s.urls === "string" || Array.isArray(s.urls)))
    .map(({ urls, username, credential }) => ({
      urls, ...(typeof username === "string" ? { username } : {}),
      ...(typeof credential === "string" ? { credential } : {}),
    }));
}

/** The WHIP offer request: the SDP as `application/sdp`, the token as a bearer credential. */
export function offerRequest(sdp, token) {
  return {
    method: "POST", mode: "cors", credentials: "omit", cache: "no-store",
    referrerPolicy: "no-referrer",
    headers: { "content-type": "application/sdp", authorization: `Bearer ${token}` },
    body: sdp,
  };
}

/** Ending the session: DELETE on the Location (kept alive so it also goes out on unload). */
export function deleteRequest(token) {
  return {
    method: "DELETE", mode: "cors", credentials: "omit", cache: "no-store", keepalive: true,
    referrerPolicy: "no-referrer", headers: { authorization: `Bearer ${token}` },
  };
}

/** The session's URL from the answer's Location header (relative to the endpoint). */
export function sessionUrl(endpoint, location, base) {
  if (!location) return null;
  try {
    return new URL(location, new URL(endpoint, base)).href;
  } catch {
    return null;
  }
}

/**
 * A refused offer as the WebSocket close it stands for, so the reconnect policy (closes.js)
 * is the same for both transports: 401/403 a token problem, 400/415 a bad request, 429/503
 * busy, 413 too big, 5xx the server's trouble.
 */
export function statusClose(status, text = "") {
  const reason = String(text).trim().slice(0, 120);
  if (status === 401 || status === 403) {
    return { code: CLOSE.POLICY, reason: `access token not accepted${reason ? `: ${reason}` : ""}` };
  }
  if (status === 400 || status === 415 || status === 422) {
    return { code: CLOSE.INVALID_ARGUMENT, reason };
  }
  if (status === 413) return { code: CLOSE.TOO_BIG, reason };
  if (status === 429 || status === 503) return { code: CLOSE.TRY_AGAIN, reason };
  return { code: CLOSE.INTERNAL, reason: reason || `HTTP ${status}` };
}

/**
 * The edge's last word, `{"livebusClose": {"code", "reason"}}` (services/webrtc-edge/README.md),
 * as {code, reason}; null for any other message.
 */
export function edgeClose(data) {
  if (typeof data !== "string" || !data.includes("livebusClose")) return null; // cheap pre-check
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return null;
  }
  const c = msg?.livebusClose;
  if (!c || typeof c !== "object" || !Number.isInteger(c.code) || c.code < 1000 || c.code > 4999) {
    return null;
  }
  return { code: c.code, reason: typeof c.reason === "string" ? c.reason.slice(0, 120) : "" };
}

/** Resolves once ICE gathering is complete, or after `ms` (whatever was gathered is sent). */
export function gathered(pc, ms = GATHER_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** The sender's encoding rescaled for a new camera track (another size). */
async function capVideo(sender, track) {
  const params = sender.getParameters();
  if (!params.encodings?.length) return;
  Object.assign(params.encodings[0], videoEncoding(track));
  await sender.setParameters(params);
}

/** `LiveSession`'s dial for WebRTC: every connection (reconnects too) is a new WHIP session. */
export function rtcDialer(config, tracks, onStream, tokenIceServers = () => []) {
  const endpoint = whipUrl(config);
  const servers = iceServers(config);
  return (token) => new RtcTransport({
    endpoint, token, iceServers: [...servers, ...tokenIceServers()], tracks, onStream,
  });
}

/**
 * One WHIP session. `tracks()` gives the microphone and camera tracks open now (either may be
 * null; `setTrack` swaps them later without renegotiating); `onStream(stream, receiver)` gets
 * the remote stream whose audio track carries the replies, and its RTCRtpReceiver.
 */
export class RtcTransport {
  static CONNECTING = STATE.CONNECTING;
  static OPEN = STATE.OPEN;

  constructor({ endpoint, token, iceServers: servers = [], tracks, onStream, base }) {
    this.endpoint = endpoint;
    this.token = token;
    this.base = base ?? globalThis.location?.href;
    this.readyState = STATE.CONNECTING;
    this.location = null;
    this.onopen = this.onmessage = this.onclose = null;
    this.pc = new RTCPeerConnection({ iceServers: servers, bundlePolicy: "max-bundle" });
    const { audio = null, video = null } = tracks?.() ?? {};
    this.audio = this.pc.addTransceiver(audio ?? "audio", { direction: "sendrecv" });
    this.video = this.pc.addTransceiver(video ?? "video", {
      direction: "sendonly", sendEncodings: [videoEncoding(video)],
    });
    this.pc.ontrack = (e) => {
      if (e.track.kind !== "audio") return;
      onStream?.(e.streams[0] ?? new MediaStream([e.track]), e.receiver);
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === "failed") this.ended(CLOSE.ABNORMAL, "connection failed");
    };
    this.dc = this.pc.createDataChannel(CHANNEL, { ordered: true });
    this.dc.binaryType = "arraybuffer";
    this.dc.onopen = () => this.opened();
    this.dc.onmessage = (e) => this.received(e.data);
    this.dc.onclose = () => this.ended(CLOSE.ABNORMAL, "");
    this.timer = setTimeout(() => this.ended(CLOSE.ABNORMAL, "no connection"), CONNECT_TIMEOUT_MS);
    this.negotiate().catch((e) => this.ended(CLOSE.ABNORMAL, e?.message ?? ""));
  }

  async negotiate() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await gathered(this.pc);
    if (this.readyState !== STATE.CONNECTING) return;
    const r = await fetch(this.endpoint, offerRequest(this.pc.localDescription.sdp, this.token));
    const text = await r.text();
    if (r.status !== 201) {
      const { code, reason } = statusClose(r.status, text);
      this.ended(code, reason);
      return;
    }
    this.location = sessionUrl(this.endpoint, r.headers.get("location"), this.base);
    if (this.readyState === STATE.CLOSED) {
      this.deleteSession(); // ended while the offer was out: the edge must not keep it
      return;
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp: text });
  }

  /** A server message; the edge's `livebusClose` ends the session with its close code. */
  received(data) {
    const end = edgeClose(data);
    if (end) this.ended(end.code, end.reason);
    else this.onmessage?.({ data });
  }

  opened() {
    if (this.readyState !== STATE.CONNECTING) return;
    clearTimeout(this.timer);
    this.readyState = STATE.OPEN;
    this.onopen?.();
  }

  get bufferedAmount() {
    return this.dc.bufferedAmount;
  }

  /** Sends one JSON text; false when it is larger than the data channel takes. */
  send(text) {
    if (this.readyState !== STATE.OPEN) return false;
    const max = this.pc.sctp?.maxMessageSize;
    if (max && new TextEncoder().encode(text).length > max) return false;
    this.dc.send(text);
    return true;
  }

  /** The microphone ("audio") or camera ("video") track from now on; null sends nothing. */
  setTrack(kind, track) {
    const t = kind === "audio" ? this.audio : this.video;
    if (this.readyState > STATE.OPEN) return;
    t.sender.replaceTrack(track).then(() => kind === "video" && track && capVideo(t.sender, track))
      .catch(() => {});
  }

  close(code = CLOSE.NORMAL, reason = "") {
    this.ended(code, reason);
  }

  deleteSession() {
    if (this.location) fetch(this.location, deleteRequest(this.token)).catch(() => {});
    this.location = null;
  }

  /** Once: release everything, DELETE the session, and report the close like a WebSocket. */
  ended(code, reason) {
    if (this.readyState === STATE.CLOSED) return;
    this.readyState = STATE.CLOSED;
    clearTimeout(this.timer);
    this.dc.onclose = this.dc.onmessage = this.pc.onconnectionstatechange = null;
    this.dc.close();
    this.pc.close();
    this.deleteSession();
    const onclose = this.onclose;
    setTimeout(() => onclose?.({ code, reason, wasClean: code !== CLOSE.ABNORMAL }), 0);
  }
}
