// The status strip's delay: camera capture → the avatar frame answering it on screen. Software GL
// takes hundreds of milliseconds to draw a frame; a delay taken when the pose is sampled leaves
// that out (105–430 ms shown against seconds of lag).
import { describe, expect, it } from "vitest";
import { DrawMeter } from "../../src/driving/drawMeter";

describe("DrawMeter", () => {
  it("counts the delay to when the frame is drawn, render time included", () => {
    const m = new DrawMeter();
    m.frameStart(1000);
    m.drawing(900); // sampled at 1000: 100 ms after capture
    expect(m.delayMs).toBeNull(); // not on screen yet
    m.frameStart(1350); // a 350 ms software-GL frame: on screen now
    expect(m.delayMs).toBe(450);
  });

  it("shows no delay while the drawn frame answers no tracked camera frame", () => {
    const m = new DrawMeter();
    m.frameStart(0);
    m.drawing(-50);
    m.frameStart(16);
    expect(m.delayMs).toBe(66);
    m.drawing(null);
    m.frameStart(32);
    expect(m.delayMs).toBeNull();
  });

  it("counts the frames drawn over the last second: 4 fps with 250 ms frames", () => {
    const m = new DrawMeter();
    for (let t = 0; t <= 3000; t += 250) {
      m.frameStart(t);
      m.drawing(t - 100);
    }
    expect(m.fps(3000)).toBe(4);
    expect(m.delayMs).toBe(350);
  });

  it("counts only frames that drew something (no driver: nothing drawn by it)", () => {
    const m = new DrawMeter();
    for (let t = 0; t < 1000; t += 10) m.frameStart(t);
    expect(m.fps(999)).toBe(0);
  });

  it("forgets the delay on reset", () => {
    const m = new DrawMeter();
    m.drawing(0);
    m.frameStart(40);
    m.reset();
    expect(m.delayMs).toBeNull();
  });
});
