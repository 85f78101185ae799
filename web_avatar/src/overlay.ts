// The OBS overlay: `/?overlay=1&watch=SESSION` shows only the avatar, framed, on a transparent
// page (an OBS browser source composites it over the scene); `&chroma=00ff00` paints a solid
// key colour instead, for capture tools without alpha. No sidebar, HUD, panels or controls.

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
