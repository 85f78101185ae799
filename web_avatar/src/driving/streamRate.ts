// Frames per second of a stream, counted on the stream's own clock (the server's timestamps), not
// on arrival. Counting arrivals over the last second double-counts whenever the main thread is
// blocked (a canvas mounting under software GL, an avatar loading): the frames queued meanwhile all
// arrive within a few milliseconds, and a 60 Hz stream read "225 Hz" after toggling A/B's Blind.
// Duplicates (the same sequence number twice) are counted once.

const WINDOW_MS = 1000;

export class StreamRate {
  private frames: { timestampMs: number; sequence: number }[] = [];
  private newestTs = -Infinity;
  private newestLocalMs = 0;

  /** At most this many frames are kept (a second of a 240 Hz stream). */
  constructor(private readonly capacity = 240) {}

  reset(): void {
    this.frames = [];
    this.newestTs = -Infinity;
  }

  /** One frame, stamped by the server (`timestampMs`), received at local time `localMs`. */
  push(timestampMs: number, sequence: number, localMs: number): void {
    if (timestampMs < this.newestTs - 5 * WINDOW_MS) this.reset(); // another server's clock: start again
    if (this.frames.some((f) => f.sequence === sequence && f.timestampMs === timestampMs)) return;
    this.frames.push({ timestampMs, sequence });
    if (timestampMs >= this.newestTs) [this.newestTs, this.newestLocalMs] = [timestampMs, localMs];
    this.prune(this.newestTs);
    if (this.frames.length > this.capacity) this.frames.splice(0, this.frames.length - this.capacity);
  }

  /** Frames whose timestamps lie within the last second of stream time at local time `localMs`
   * (the stream's clock advanced by the time since its newest frame came, so a stalled stream drops to 0). */
  hz(localMs: number): number {
    if (this.newestTs === -Infinity) return 0;
    const streamNow = this.newestTs + Math.max(0, localMs - this.newestLocalMs);
    this.prune(streamNow);
    return this.frames.length;
  }

  private prune(streamNow: number): void {
    this.frames = this.frames.filter((f) => f.timestampMs > streamNow - WINDOW_MS && f.timestampMs <= streamNow);
  }
}
