// Base64 helpers. Uses the native Uint8Array.toBase64/fromBase64 where the browser has them.

const hasNative = typeof Uint8Array.prototype.toBase64 === "function";

/** Standard base64 of bytes (ArrayBuffer or typed array). */
export function encode(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer ?? data,
    data.byteOffset ?? 0, data.byteLength);
  if (hasNative) return bytes.toBase64();
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes from standard or URL-safe base64 (Gemini and its SDKs use both). */
export function decode(text) {
  const std = /[-_]/.test(text) ? text.replace(/-/g, "+").replace(/_/g, "/") : text;
  if (hasNative) return Uint8Array.fromBase64(std, { lastChunkHandling: "loose" });
  const bin = atob(std);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Base64 of a Blob (an encoded image). */
export async function encodeBlob(blob) {
  return encode(new Uint8Array(await blob.arrayBuffer()));
}
