// Camera frames for the model: scaled in the page to fit 512x512 and encoded as JPEG.

export const MAX_SIDE = 512;

/** Size that fits `w`x`h` inside `max`x`max`, keeping the aspect ratio (never upscales). */
export function fitWithin(w, h, max = MAX_SIDE) {
  const scale = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/**
 * Takes frames from a <video> at `fps`, calling `onFrame(blob, width, height)` for each;
 * `shape()` may say each frame's {maxSide, quality} (the uplink's congestion).
 */
export class FrameSampler {
  constructor({ video, fps = 1, quality = 0.75, onFrame, shouldSkip, shape }) {
    this.video = video;
    this.fps = fps;
    this.quality = quality;
    this.shape = shape ?? (() => ({ maxSide: MAX_SIDE, quality: this.quality }));
    this.onFrame = onFrame;
    this.shouldSkip = shouldSkip ?? (() => false);
    this.canvas = document.createElement("canvas");
    this.timer = null;
    this.busy = false;
  }

  start() {
    this.stop();
    this.timer = setInterval(() => this.tick(), 1000 / this.fps);
    this.tick();
  }

  setRate(fps) {
    this.fps = fps;
    if (this.timer) this.start();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick() {
    const v = this.video;
    if (this.busy || !v.videoWidth || v.readyState < 2) return;
    if (this.shouldSkip()) return;
    this.busy = true;
    try {
      const { maxSide, quality } = this.shape();
      const { width, height } = fitWithin(v.videoWidth, v.videoHeight, maxSide);
      this.canvas.width = width;
      this.canvas.height = height;
      this.canvas.getContext("2d").drawImage(v, 0, 0, width, height);
      const blob = await new Promise((r) => this.canvas.toBlob(r, "image/jpeg", quality));
      if (blob) this.onFrame(blob, width, height);
    } finally {
      this.busy = false;
    }
  }
}

/** A still image (file or paste) as JPEG fitting 1024x1024, for a conversation turn. */
export async function imageToJpeg(file, max = 1024) {
  const bitmap = await createImageBitmap(file);
  const { width, height } = fitWithin(bitmap.width, bitmap.height, max);
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff"; // transparent PNGs get a white background, not black
  g.fillRect(0, 0, width, height);
  g.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 });
  return { blob, width, height };
}
