// The delay the user sees: from the capture of the camera frame to the moment the avatar frame
// answering it is on screen, and the frames drawn per second. Measured at draw time, not arrival:
// the pose drawn in one animation frame is on screen by the next animation frame's callback (the
// browser runs it only once the previous frame was rendered and handed to the compositor), so
// the render time, which software GL makes hundreds of milliseconds, is included.

export class DrawMeter {
  private pendingCaptureMs: number | null = null;
  private framePending = false;
  private drawnTimes: number[] = [];
  /** Capture → drawn, in ms, of the newest frame on screen; null while no tracked frame is shown. */
  delayMs: number | null = null;

  /** The start of an animation frame at `nowMs` (the same clock as capture times, epoch ms):
   * the frame before it is on screen now. */
  frameStart(nowMs: number): void {
    if (this.framePending) {
      this.drawnTimes.push(nowMs);
      if (this.drawnTimes.length > 240) this.drawnTimes.splice(0, this.drawnTimes.length - 240);
      this.delayMs = this.pendingCaptureMs === null ? null : Math.max(0, Math.round(nowMs - this.pendingCaptureMs));
    }
    this.framePending = false;
  }

  /** This animation frame draws a pose answering the camera frame captured at `captureMs`
   * (null: a pose answering no tracked camera frame, or the avatar at rest). */
  drawing(captureMs: number | null): void {
    this.pendingCaptureMs = captureMs;
    this.framePending = true;
  }

  /** Frames drawn over the last second before `nowMs`. */
  fps(nowMs: number): number {
    return this.drawnTimes.filter((t) => nowMs - t < 1000 && t <= nowMs).length;
  }

  reset(): void {
    this.pendingCaptureMs = null;
    this.delayMs = null;
  }
}
