import { describe, expect, it } from "vitest";
import { readAvatarOverride, readOverlay, watchedAvatarUrl } from "../../src/overlay";

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

describe("a watcher's avatar (issue 25: OBS drew the default head, never the publisher's avatar)", () => {
  const DEFAULT = "/avatars/default.glb";
  const STORED = "/v1/rigs/brunette/avatar?v=0123456789abcdef";

  it("is the publisher's avatar the welcome names", () => {
    expect(watchedAvatarUrl(null, STORED, DEFAULT)).toBe(STORED);
  });

  it("is the page's &avatar=URL over the welcome's", () => {
    const override = readAvatarOverride("?overlay=1&watch=abc&avatar=https%3A%2F%2Fexample.com%2Fme.vrm");
    expect(override).toBe("https://example.com/me.vrm");
    expect(watchedAvatarUrl(override, STORED, DEFAULT)).toBe("https://example.com/me.vrm");
    expect(watchedAvatarUrl(readAvatarOverride("?avatar=/avatars/other.glb"), STORED, DEFAULT)).toBe("/avatars/other.glb");
  });

  it("is the default head when the welcome names none (built-in rig, a cluster) or nothing came yet", () => {
    expect(watchedAvatarUrl(null, undefined, DEFAULT)).toBe(DEFAULT);
    expect(watchedAvatarUrl(null, null, DEFAULT)).toBe(DEFAULT);
  });

  it("never loads a script, another host's protocol-relative URL or junk", () => {
    for (const bad of ["javascript:alert(1)", "//evil.example/a.glb", "data:model/gltf-binary;base64,AA", ""]) {
      expect(readAvatarOverride(`?avatar=${encodeURIComponent(bad)}`)).toBeNull();
      expect(watchedAvatarUrl(null, bad, DEFAULT)).toBe(DEFAULT);
    }
    expect(watchedAvatarUrl(null, 42, DEFAULT)).toBe(DEFAULT);
  });
});
