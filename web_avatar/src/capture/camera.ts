// Camera frames as JPEG at a configurable rate. Encoded synchronously with toDataURL: in
// Chromium, toBlob and OffscreenCanvas.convertToBlob were measured at ~1.2 s per 640x480
// frame (the encode is deferred), toDataURL at a few milliseconds. Frames keep the camera's
// own aspect ratio (16:9, 4:3, portrait): a face squeezed into another shape reads as
// another expression (a 16:9 face drawn into 4:3 read jawOpen 0.61 at rest).
export interface CameraCaptureOptions {
  fps: number;
  /** The long side of the frames sent, in pixels (never upscaled). */
  longSide: number;
  quality: number;
  canSend: () => boolean;
  send: (jpeg: Uint8Array, captureMs: number) => void;
}

export class CameraCapture {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly canvas: HTMLCanvasElement;
  private sentTimes: number[] = [];

  get fps(): number {
    const now = performance.now();
    this.sentTimes = this.sentTimes.filter((t) => now - t < 1000);
    return this.sentTimes.length;
  }

  /** The size of the frames sent (0×0 before the first): the camera's shape, scaled. */
  get frameSize(): { width: number; height: number } {
    return { width: this.canvas.width, height: this.canvas.height };
  }

  constructor(private readonly video: HTMLVideoElement, private options: CameraCaptureOptions) {
    this.canvas = Object.assign(document.createElement("canvas"), { width: 0, height: 0 });
  }

  start(): void {
    this.stop();
    this.timer = setInterval(() => this.grab(), 1000 / Math.max(1, Math.min(60, this.options.fps)));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private grab(): void {
    const v = this.video;
    if (!v.videoWidth || !this.options.canSend()) return;
    const captureMs = Date.now();
    const scale = Math.min(1, this.options.longSide / Math.max(v.videoWidth, v.videoHeight));
    const width = Math.round(v.videoWidth * scale), height = Math.round(v.videoHeight * scale);
    if (this.canvas.width !== width || this.canvas.height !== height) Object.assign(this.canvas, { width, height });
    // A CPU-backed canvas: encoding a GPU canvas reads every frame back from the GPU.
    this.canvas.getContext("2d", { willReadFrequently: true })!.drawImage(v, 0, 0, width, height);
    const base64 = this.canvas.toDataURL("image/jpeg", this.options.quality).split(",", 2)[1];
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    this.options.send(bytes, captureMs);
    this.sentTimes.push(performance.now());
  }
}
