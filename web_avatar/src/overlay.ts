// The OBS overlay: `/?overlay=1&watch=SESSION` shows only the avatar, framed, on a transparent
// page (an OBS browser source composites it over the scene); `&chroma=00ff00` paints a solid
// key colour instead, for capture tools without alpha. No sidebar, HUD, panels or controls. It
// draws the publisher's avatar (the welcome's `avatar_url`) unless `&avatar=URL` names another.

export interface OverlayOptions {
  enabled: boolean;
  /** The background: null is transparent, else a CSS colour ("#00ff00"). */
  background: string | null;
}

const HEX = /^[0-9a-f]{6}$/i;

/** Reads the overlay options from a query string ("?overlay=1&chroma=00ff00"). */
export function readOverlay(search: string): OverlayOptions {
  const params = new URLSearchParams(search);
  const enabled = ["1", "true", "yes"].includes((params.get("overlay") ?? "").toLowerCase());
  const chroma = (params.get("chroma") ?? "").replace(/^#/, "");
  return { enabled, background: enabled && HEX.test(chroma) ? `#${chroma.toLowerCase()}` : null };
}

export const OVERLAY = readOverlay(typeof location === "undefined" ? "" : location.search);

/** A watcher's avatar (the OBS overlay's, the watch page's): `&avatar=URL` when the page names
 * one (http(s) or a path on this server), else the one the session's welcome names
 * (`avatar_url`: the file the publisher uploaded, kept by the server with its rig), else the
 * built-in head. */
export function watchedAvatarUrl(override: string | null, welcomeUrl: unknown, fallback: string): string {
  if (override) return override;
  return typeof welcomeUrl === "string" && isAvatarUrl(welcomeUrl) ? welcomeUrl : fallback;
}

/** http(s) URLs and paths on this server ("/v1/rigs/x/avatar"); not "//host" nor javascript:, data:, blob:. */
export function isAvatarUrl(url: string): boolean {
  return /^https?:\/\//i.test(url) || /^\/(?!\/)/.test(url);
}

/** `&avatar=URL` of a query string, when it is one a watcher may load. */
export function readAvatarOverride(search: string): string | null {
  const url = new URLSearchParams(search).get("avatar");
  return url && isAvatarUrl(url) ? url : null;
}

export const AVATAR_OVERRIDE = readAvatarOverride(typeof location === "undefined" ? "" : location.search);
