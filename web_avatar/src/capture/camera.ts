// Camera frames as JPEG at a configurable rate (the WebSocket path). Frames keep the camera's own
// aspect ratio (16:9, 4:3, portrait): a face squeezed into another shape reads as another
// expression (a 16:9 face drawn into 4:3 read jawOpen 0.61 at rest).
//
// Encoding runs off the main thread where the browser can (createImageBitmap, scaled, transferred
// to a Worker that encodes on an OffscreenCanvas: capture/jpegWorker.ts), one frame in flight at a
// time (a grab while one is encoding is skipped, not queued). On the main thread, toBlob and
// OffscreenCanvas.convertToBlob were measured at ~1.2 s per 640x480 frame in Chromium (the encode
// waits for idle time, which a busy page never has), so the fallback there is the synchronous
// toDataURL; the worker falls back to it too when it errs or stays slow.
//
// capture_ms is when the camera captured the frame sent (requestVideoFrameCallback's captureTime,
// else when the frame reached the video element), not when it was grabbed: the delay the status
// strip shows starts at the camera frame the user sees.
import type { EncodeReply, EncodeRequest } from "./jpegWorker";

export interface CameraCaptureOptions {
  fps: number;
  /** The long side of the frames sent, in pixels (never upscaled). */
  longSide: number;
  quality: number;
  canSend: () => boolean;
  send: (jpeg: Uint8Array, captureMs: number) => void;
}

/** A worker's encode slower than this, this many times in a row, sends encoding back to the main thread. */
const SLOW_ENCODE_MS = 500;
const SLOW_IN_A_ROW = 3;

interface FrameMetadata {
  captureTime?: number;
  receiveTime?: number;
  presentationTime: number;
}
type VideoWithFrames = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, metadata: FrameMetadata) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

/** The epoch time (ms) a video frame was captured, from its requestVideoFrameCallback metadata:
 * captureTime where the source gives one, else when it was received, else when it was presented.
 * A capture time after the presentation or 10 s before it is not believed (a clock of another origin). */
export function frameCaptureEpochMs(m: FrameMetadata, timeOrigin: number): number {
  const plausible = (t: number | undefined) => t !== undefined && t <= m.presentationTime + 1 && m.presentationTime - t < 10000;
  const t = plausible(m.captureTime) ? m.captureTime! : plausible(m.receiveTime) ? m.receiveTime! : m.presentationTime;
  return timeOrigin + t;
}

export class CameraCapture {
  private timer: ReturnType<typeof setInterval> | null = null;
  private frameCallback: number | null = null;
  private readonly canvas: HTMLCanvasElement;
  private sentTimes: number[] = [];
  private size = { width: 0, height: 0 };
  /** The capture time (epoch ms) of the frame the video element shows now; null before rVFC reports one. */
  private shownCaptureMs: number | null = null;
  private worker: Worker | null = null;
  private inFlight: { id: number; captureMs: number; sentAt: number } | null = null;
  private nextId = 0;
  private slowInARow = 0;
  /** Where frames are encoded now: "worker" or "main thread" (and why, after a fallback). */
  encoder = "main thread";
  /** Grabs skipped because the previous frame was still being encoded. */
  skipped = 0;

  get fps(): number {
    const now = performance.now();
    this.sentTimes = this.sentTimes.filter((t) => now - t < 1000);
    return this.sentTimes.length;
  }

  /** The size of the frames sent (0×0 before the first): the camera's shape, scaled. */
  get frameSize(): { width: number; height: number } {
    return { ...this.size };
  }

  constructor(private readonly video: HTMLVideoElement, private options: CameraCaptureOptions) {
    this.canvas = Object.assign(document.createElement("canvas"), { width: 0, height: 0 });
  }

  start(): void {
    this.stop();
    this.watchFrames();
    if (typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined" && typeof createImageBitmap !== "undefined") {
      try {
        this.worker = new Worker(new URL("./jpegWorker.ts", import.meta.url), { type: "module" });
        this.worker.onmessage = (e: MessageEvent<EncodeReply>) => this.encoded(e.data);
        this.worker.onerror = (e) => this.toMainThread(`worker failed: ${e.message}`);
        this.encoder = "worker";
      } catch (e) {
        this.toMainThread(`no worker: ${String(e)}`);
      }
    }
    this.timer = setInterval(() => this.grab(), 1000 / Math.max(1, Math.min(60, this.options.fps)));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const v = this.video as VideoWithFrames;
    if (this.frameCallback !== null) v.cancelVideoFrameCallback?.(this.frameCallback);
    this.frameCallback = null;
    this.worker?.terminate();
    this.worker = null;
    this.inFlight = null;
  }

  /** Follows the capture time of the frame the video element shows (where the browser tells it). */
  private watchFrames(): void {
    const v = this.video as VideoWithFrames;
    if (!v.requestVideoFrameCallback) return;
    const onFrame = (_: number, m: FrameMetadata) => {
      this.shownCaptureMs = frameCaptureEpochMs(m, performance.timeOrigin);
      this.frameCallback = v.requestVideoFrameCallback!(onFrame);
    };
    this.frameCallback = v.requestVideoFrameCallback(onFrame);
  }

  private toMainThread(why: string): void {
    this.worker?.terminate();
    this.worker = null;
    this.inFlight = null;
    this.encoder = `main thread (${why})`;
    console.warn(`camera frames are encoded on the main thread: ${why}`);
  }

  private grab(): void {
    const v = this.video;
    if (!v.videoWidth || !this.options.canSend()) return;
    // The frame the video element shows: its capture time where known; else now, when it is grabbed.
    const captureMs = Math.min(Date.now(), this.shownCaptureMs ?? Date.now());
    const scale = Math.min(1, this.options.longSide / Math.max(v.videoWidth, v.videoHeight));
    const width = Math.round(v.videoWidth * scale), height = Math.round(v.videoHeight * scale);
    if (this.worker) {
      if (this.inFlight) {
        this.skipped++;
        return;
      }
      const id = ++this.nextId;
      this.inFlight = { id, captureMs, sentAt: performance.now() };
      createImageBitmap(v, { resizeWidth: width, resizeHeight: height, resizeQuality: "medium" })
        .then((bitmap) => {
          if (!this.worker || this.inFlight?.id !== id) return bitmap.close();
          const request: EncodeRequest = { id, bitmap, quality: this.options.quality };
          this.worker.postMessage(request, [bitmap]);
        })
        .catch((e: unknown) => this.toMainThread(`createImageBitmap failed: ${String(e)}`));
      return;
    }
    if (this.canvas.width !== width || this.canvas.height !== height) Object.assign(this.canvas, { width, height });
    // A CPU-backed canvas: encoding a GPU canvas reads every frame back from the GPU.
    this.canvas.getContext("2d", { willReadFrequently: true })!.drawImage(v, 0, 0, width, height);
    const base64 = this.canvas.toDataURL("image/jpeg", this.options.quality).split(",", 2)[1];
    this.deliver(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)), captureMs, width, height);
  }

  private encoded(reply: EncodeReply): void {
    const pending = this.inFlight;
    if (!pending || pending.id !== reply.id) return; // stopped or fallen back meanwhile
    this.inFlight = null;
    if ("error" in reply) return this.toMainThread(reply.error);
    this.slowInARow = performance.now() - pending.sentAt > SLOW_ENCODE_MS ? this.slowInARow + 1 : 0;
    if (this.slowInARow >= SLOW_IN_A_ROW) this.toMainThread(`the worker took over ${SLOW_ENCODE_MS} ms a frame`);
    if (!this.options.canSend()) return;
    const { width, height } = this.scaledSize();
    this.deliver(new Uint8Array(reply.jpeg), pending.captureMs, width, height);
  }

  private scaledSize(): { width: number; height: number } {
    const v = this.video;
    const scale = Math.min(1, this.options.longSide / Math.max(v.videoWidth, v.videoHeight, 1));
    return { width: Math.round(v.videoWidth * scale), height: Math.round(v.videoHeight * scale) };
  }

  private deliver(jpeg: Uint8Array, captureMs: number, width: number, height: number): void {
    this.size = { width, height };
    this.options.send(jpeg, captureMs);
    this.sentTimes.push(performance.now());
  }
}
