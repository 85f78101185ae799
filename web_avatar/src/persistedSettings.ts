// The consent form's choices stay across reloads (localStorage, this browser only): camera and
// microphone toggles, strategy, user id, mirror, and the avatar when it came from a URL (a
// dropped file cannot be reopened). Consent itself is never remembered: every visit asks again.
import type { SessionSettings } from "./runtime";

const KEY = "avatar-driver-settings-v1";

export interface Remembered {
  settings: SessionSettings;
  /** An http(s) avatar URL, or null for the default avatar. */
  avatarUrl: string | null;
}

type Store = Pick<Storage, "getItem" | "setItem">;

/** The remembered choices over the defaults; anything missing, mistyped or unreadable keeps its default. */
export function recall(store: Store, defaults: SessionSettings): Remembered {
  let saved: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(store.getItem(KEY) ?? "{}");
    if (parsed && typeof parsed === "object") saved = parsed as Record<string, unknown>;
  } catch {
    // unreadable: the defaults
  }
  const pick = <K extends "camera" | "microphone" | "mirror" | "strategy" | "userId">(key: K, type: string) =>
    (typeof saved[key] === type ? saved[key] : defaults[key]) as SessionSettings[K];
  const settings = {
    ...defaults,
    camera: pick("camera", "boolean"), microphone: pick("microphone", "boolean"), mirror: pick("mirror", "boolean"),
    strategy: pick("strategy", "string"), userId: pick("userId", "string"),
  };
  const url = saved.avatarUrl;
  const avatarUrl = typeof url === "string" && /^https?:\/\//.test(url) ? url : null;
  if (avatarUrl && typeof saved.rig === "string") settings.rig = saved.rig; // the rig built for that avatar
  return { settings, avatarUrl };
}

export function remember(store: Store, settings: SessionSettings, avatarUrl: string): void {
  const url = /^https?:\/\//.test(avatarUrl) ? avatarUrl : null;
  const { camera, microphone, mirror, strategy, userId, rig } = settings;
  try {
    store.setItem(KEY, JSON.stringify({ camera, microphone, mirror, strategy, userId, avatarUrl: url, rig: url ? rig : undefined }));
  } catch {
    // storage full or disabled (private mode): the choices are simply not kept
  }
}
