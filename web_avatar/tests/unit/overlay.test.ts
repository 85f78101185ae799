import { describe, expect, it } from "vitest";
import { readOverlay } from "../../src/overlay";

describe("overlay options", () => {
  it("are off unless asked for", () => {
    expect(readOverlay("")).toEqual({ enabled: false, background: null });
    expect(readOverlay("?watch=abc&chroma=00ff00")).toEqual({ enabled: false, background: null });
  });

  it("are transparent by default, or a chroma key colour", () => {
    expect(readOverlay("?overlay=1&watch=abc")).toEqual({ enabled: true, background: null });
    expect(readOverlay("?overlay=true&chroma=00FF00")).toEqual({ enabled: true, background: "#00ff00" });
    expect(readOverlay("?overlay=1&chroma=%2300ff00")).toEqual({ enabled: true, background: "#00ff00" });
  });

  it("refuse a colour that is not six hex digits (no CSS injection)", () => {
    expect(readOverlay("?overlay=1&chroma=red;x").background).toBeNull();
    expect(readOverlay("?overlay=1&chroma=0f0").background).toBeNull();
  });
});
