// The consent form's choices stay across reloads (localStorage, this browser only): camera and
// microphone toggles and devices, resolution and frame rate, the transport, strategy, user id,
// mirror, the stream name, and the avatar: its URL, or for a file (which cannot be reopened) the
// copy the server keeps with its rig (`/v1/rigs/{id}/avatar`).
// Consent itself is never remembered: every visit asks again.
import type { SessionSettings, TransportChoice } from "./runtime";

const KEY = "avatar-driver-settings-v1";

export interface Remembered {
  settings: SessionSettings;
  /** An http(s) avatar URL or a stored avatar's path, or null for the default avatar. */
  avatarUrl: string | null;
}

/** Where the server serves an uploaded avatar (server/routers/rigs.py), its rig id as the server makes them. */
const STORED_AVATAR = /^\/v1\/rigs\/[A-Za-z0-9_-]{1,128}\/avatar$/;

/** The path of the avatar file the server keeps for an uploaded rig. */
export function storedAvatarUrl(rigId: string): string {
  return `/v1/rigs/${encodeURIComponent(rigId)}/avatar`;
}

/** An avatar worth remembering: one that can be loaded again after a reload. */
const reloadable = (url: unknown): url is string =>
  typeof url === "string" && (/^https?:\/\//.test(url) || STORED_AVATAR.test(url));

type Store = Pick<Storage, "getItem" | "setItem">;

/** The camera sizes (long side, px) and frame rates offered. */
export const LONG_SIDES = [480, 640, 960] as const;
export const FRAME_RATES = [10, 15, 20, 30] as const;
export const TRANSPORTS: readonly TransportChoice[] = ["auto", "webrtc", "websocket"];

/** hello.session_name's alphabet and length (server/protocol/messages.py). */
export const SESSION_NAME = /^[A-Za-z0-9_-]{8,64}$/;

/** A new random stream name: 12 characters, as unguessable as a server-made session id. */
export function newSessionName(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return [...random(12)].map((b) => alphabet[b & 63]).join("");
}

/** The remembered choices over the defaults; anything missing, mistyped or unreadable keeps its default. */
export function recall(store: Store, defaults: SessionSettings): Remembered {
  let saved: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(store.getItem(KEY) ?? "{}");
    if (parsed && typeof parsed === "object") saved = parsed as Record<string, unknown>;
  } catch {
    // unreadable: the defaults
  }
  const pick = <K extends "camera" | "microphone" | "mirror" | "strategy" | "userId" | "cameraId" | "microphoneId">(
    key: K, type: string) => (typeof saved[key] === type ? saved[key] : defaults[key]) as SessionSettings[K];
  const oneOf = (value: unknown, allowed: readonly number[], fallback: number) =>
    (allowed.includes(value as number) ? value : fallback) as number;
  const name = saved.sessionName;
  const settings = {
    ...defaults,
    camera: pick("camera", "boolean"), microphone: pick("microphone", "boolean"), mirror: pick("mirror", "boolean"),
    strategy: pick("strategy", "string"), userId: pick("userId", "string"),
    cameraId: pick("cameraId", "string"), microphoneId: pick("microphoneId", "string"),
    longSide: oneOf(saved.longSide, LONG_SIDES, defaults.longSide), fps: oneOf(saved.fps, FRAME_RATES, defaults.fps),
    sessionName: typeof name === "string" && SESSION_NAME.test(name) ? name : defaults.sessionName,
    transport: TRANSPORTS.includes(saved.transport as TransportChoice) ? saved.transport as TransportChoice
      : defaults.transport,
  };
  const url = saved.avatarUrl;
  const avatarUrl = reloadable(url) ? url : null;
  if (avatarUrl && typeof saved.rig === "string") settings.rig = saved.rig; // the rig built for that avatar
  return { settings, avatarUrl };
}

export function remember(store: Store, settings: SessionSettings, avatarUrl: string): void {
  const url = reloadable(avatarUrl) ? avatarUrl : null;
  const { camera, microphone, mirror, strategy, userId, rig, sessionName, cameraId, microphoneId, longSide, fps,
    transport } = settings;
  try {
    store.setItem(KEY, JSON.stringify({ camera, microphone, mirror, strategy, userId, sessionName, cameraId, microphoneId,
      longSide, fps, transport, avatarUrl: url, rig: url ? rig : undefined }));
  } catch {
    // storage full or disabled (private mode): the choices are simply not kept
  }
}
