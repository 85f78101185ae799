// A/B showed "225 Hz" for a 60 Hz stream after toggling Blind: the rate was counted on arrival,
// and the frames queued while two canvases mounted all arrived at once. Counted on the stream's
// own clock, a burst cannot read faster than the stream runs.
import { describe, expect, it } from "vitest";
import { MessageType } from "../../src/generated/protocol";
import { Runtime } from "../../src/runtime";
import { StreamRate } from "../../src/driving/streamRate";

const FRAME_MS = 1000 / 60;

describe("StreamRate", () => {
  it("reads a steady 60 Hz stream as 60 Hz", () => {
    const rate = new StreamRate();
    for (let i = 0; i < 180; i++) rate.push(5000 + i * FRAME_MS, i, 100 + i * FRAME_MS);
    expect(rate.hz(100 + 179 * FRAME_MS)).toBeGreaterThanOrEqual(59);
    expect(rate.hz(100 + 179 * FRAME_MS)).toBeLessThanOrEqual(61);
  });

  it("reads 3.75 s of frames that arrive in one burst as at most the stream's 60 Hz, not 225", () => {
    const rate = new StreamRate();
    for (let i = 0; i < 225; i++) rate.push(5000 + i * FRAME_MS, i, 9000 + i * 0.01); // all within 3 ms
    expect(rate.hz(9003)).toBeLessThanOrEqual(61);
  });

  it("counts a frame delivered twice once", () => {
    const rate = new StreamRate();
    for (let i = 0; i < 60; i++) {
      rate.push(i * FRAME_MS, i, i * FRAME_MS);
      rate.push(i * FRAME_MS, i, i * FRAME_MS + 1);
    }
    expect(rate.hz(59 * FRAME_MS + 1)).toBeLessThanOrEqual(60);
  });

  it("drops to 0 when the stream stops, and starts again on another server's clock", () => {
    const rate = new StreamRate();
    for (let i = 0; i < 60; i++) rate.push(50_000 + i * FRAME_MS, i, i * FRAME_MS);
    expect(rate.hz(1000 + 1500)).toBe(0);
    for (let i = 0; i < 30; i++) rate.push(10_000 + i * FRAME_MS, i, 3000 + i * FRAME_MS); // a clock 40 s behind
    expect(rate.hz(3000 + 29 * FRAME_MS)).toBeGreaterThanOrEqual(29);
  });

  it("keeps at most its capacity", () => {
    const rate = new StreamRate(100);
    for (let i = 0; i < 1000; i++) rate.push(i * 0.1, i, 0); // 10 kHz of timestamps
    expect(rate.hz(0)).toBeLessThanOrEqual(100);
  });
});

describe("Runtime's avatar rate (the HUD's \"avatar N Hz\")", () => {
  it("after a blocked main thread, a burst of queued A and B frames reads at most 60 Hz each", () => {
    const runtime = new Runtime();
    const deliver = (runtime as unknown as { onMessage: (m: unknown) => void }).onMessage.bind(runtime);
    const t0 = Date.now() - 4000;
    for (let i = 0; i < 225; i++) {
      for (const variant of ["A", "B"]) {
        deliver({ type: MessageType.AvatarFrame, timestamp_ms: t0 + i * FRAME_MS, sequence: i,
          payload: { variant, blendshapes: {}, bone_transforms: {}, face_present: true } });
      }
    }
    const hz = runtime.outputHzByVariant;
    expect(hz.A).toBeLessThanOrEqual(61);
    expect(hz.B ?? 0).toBeLessThanOrEqual(61);
  });
});
