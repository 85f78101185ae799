// capture_ms is when the camera captured the frame the user sees, not when it was grabbed.
import { describe, expect, it } from "vitest";
import { frameCaptureEpochMs } from "../../src/capture/camera";

describe("frameCaptureEpochMs", () => {
  const origin = 1_700_000_000_000;
  it("uses the camera's capture time", () => {
    expect(frameCaptureEpochMs({ captureTime: 900, receiveTime: 950, presentationTime: 1000 }, origin)).toBe(origin + 900);
  });
  it("falls back to the receive time, then the presentation time", () => {
    expect(frameCaptureEpochMs({ receiveTime: 950, presentationTime: 1000 }, origin)).toBe(origin + 950);
    expect(frameCaptureEpochMs({ presentationTime: 1000 }, origin)).toBe(origin + 1000);
  });
  it("does not believe a capture time on another clock (after presentation, or 10 s before it)", () => {
    expect(frameCaptureEpochMs({ captureTime: 5000, presentationTime: 1000 }, origin)).toBe(origin + 1000);
    expect(frameCaptureEpochMs({ captureTime: -20_000, presentationTime: 1000 }, origin)).toBe(origin + 1000);
  });
});
