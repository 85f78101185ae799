import { describe, expect, it } from "vitest";
import { newSessionName, recall, remember, SESSION_NAME, storedAvatarUrl } from "../../src/persistedSettings";
import type { SessionSettings } from "../../src/runtime";

const DEFAULTS: SessionSettings = {
  camera: true, microphone: false, rig: "arkit52", strategy: "direct", format: "packed", userId: "", fps: 20, mirror: true,
  sessionName: "default-name-1", longSide: 640, cameraId: "", microphoneId: "", transport: "auto",
};

class MemoryStore {
  items = new Map<string, string>();
  getItem(k: string) { return this.items.get(k) ?? null; }
  setItem(k: string, v: string) { this.items.set(k, v); }
}

describe("persisted settings", () => {
  it("come back as they were left", () => {
    const store = new MemoryStore();
    const chosen = { ...DEFAULTS, microphone: true, camera: false, strategy: "hybrid", userId: "ana", mirror: false,
      sessionName: "alice-stream", longSide: 960, fps: 30, cameraId: "cam-2", microphoneId: "mic-7",
      transport: "websocket" as const };
    remember(store, chosen, "/avatars/default.glb");
    expect(recall(store, DEFAULTS)).toEqual({ settings: chosen, avatarUrl: null });
  });

  it("keep an avatar URL with its rig, but not a dropped file", () => {
    const store = new MemoryStore();
    remember(store, { ...DEFAULTS, rig: "my-vrm" }, "https://example.com/a.vrm");
    expect(recall(store, DEFAULTS)).toMatchObject({ avatarUrl: "https://example.com/a.vrm", settings: { rig: "my-vrm" } });
    remember(store, { ...DEFAULTS, rig: "dropped" }, "blob:http://localhost/123");
    expect(recall(store, DEFAULTS)).toMatchObject({ avatarUrl: null, settings: { rig: "arkit52" } });
  });

  it("fall back to the defaults on nothing, garbage or wrong types", () => {
    const store = new MemoryStore();
    expect(recall(store, DEFAULTS).settings).toEqual(DEFAULTS);
    store.setItem("avatar-driver-settings-v1", "{not json");
    expect(recall(store, DEFAULTS).settings).toEqual(DEFAULTS);
    store.setItem("avatar-driver-settings-v1", JSON.stringify({ camera: "yes", strategy: 3, avatarUrl: "javascript:x",
      sessionName: "no spaces allowed", longSide: 4096, fps: "30", cameraId: 5, transport: "carrier pigeon" }));
    expect(recall(store, DEFAULTS)).toEqual({ settings: DEFAULTS, avatarUrl: null });
  });

  it("make stream names the server accepts, different each time", () => {
    const names = new Set(Array.from({ length: 50 }, () => newSessionName()));
    expect(names.size).toBe(50);
    for (const n of names) expect(SESSION_NAME.test(n)).toBe(true);
    expect(newSessionName(() => new Uint8Array(12).fill(255))).toBe("____________");
  });
});

describe("a file-loaded avatar (issue 25: it was gone after a reload)", () => {
  it("comes back as the copy the server keeps with its rig", () => {
    const store = new MemoryStore();
    remember(store, { ...DEFAULTS, rig: "brunette-t" }, storedAvatarUrl("brunette-t"));
    expect(recall(store, DEFAULTS)).toMatchObject({ avatarUrl: "/v1/rigs/brunette-t/avatar", settings: { rig: "brunette-t" } });
  });

  it("is not confused with another path of the server", () => {
    const store = new MemoryStore();
    for (const url of ["/v1/users/ana", "/v1/rigs/../users/avatar", "//evil.example/v1/rigs/x/avatar"]) {
      store.setItem("avatar-driver-settings-v1", JSON.stringify({ avatarUrl: url, rig: "x" }));
      expect(recall(store, DEFAULTS)).toMatchObject({ avatarUrl: null, settings: { rig: "arkit52" } });
    }
  });
});
