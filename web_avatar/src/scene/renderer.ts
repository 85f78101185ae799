// Which WebGL renderer draws the page, and whether it is software. With software GL (Chromium's
// SwiftShader, Mesa's llvmpipe/softpipe, Windows' Basic Render Driver) the avatar is drawn at a few
// frames per second and competes with capture and streaming for the CPU: the viewer starts at
// "low" render quality and the status strip says so (docs/web-viewer.md, "Lighting and quality").

const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** Whether a WebGL renderer string (UNMASKED_RENDERER_WEBGL, else RENDERER) names a software rasteriser. */
export function isSoftwareRenderer(renderer: string): boolean {
  return SOFTWARE.test(renderer);
}

/** A short name for the status strip: "SwiftShader", "llvmpipe", "software". */
export function softwareName(renderer: string): string {
  const m = /swiftshader|llvmpipe|softpipe/i.exec(renderer);
  if (!m) return "software";
  return m[0].toLowerCase() === "swiftshader" ? "SwiftShader" : m[0].toLowerCase();
}

export interface RendererInfo {
  /** The renderer string, or null where WebGL is unavailable. */
  renderer: string | null;
  /** No WebGL at all, or WebGL drawn by a software rasteriser. */
  software: boolean;
}

/** Asks a throwaway WebGL context once (WEBGL_debug_renderer_info where the browser offers it). */
export function detectRenderer(): RendererInfo {
  try {
    const canvas = document.createElement("canvas");
    const gl = canvas.getContext("webgl2") ?? canvas.getContext("webgl");
    if (!gl) return { renderer: null, software: true };
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return { renderer, software: isSoftwareRenderer(renderer) };
  } catch (e) {
    console.warn(`WebGL renderer unknown: ${String(e)}`);
    return { renderer: null, software: true };
  }
}

let detected: RendererInfo | null = null;

/** detectRenderer(), asked once per page. */
export function pageRenderer(): RendererInfo {
  detected ??= detectRenderer();
  return detected;
}
