// Software WebGL (SwiftShader, llvmpipe, …) is named in the status strip and starts at low quality.
// Renderer strings as browsers report them (UNMASKED_RENDERER_WEBGL).
import { describe, expect, it } from "vitest";
import { isSoftwareRenderer, softwareName } from "../../src/scene/renderer";

const SOFTWARE = [
  "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
  "Google SwiftShader",
  "llvmpipe (LLVM 15.0.6, 256 bits)",
  "ANGLE (Mesa, llvmpipe (LLVM 17.0.6 256 bits), OpenGL 4.5)",
  "softpipe",
  "Microsoft Basic Render Driver",
  "ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)",
  "Software Rasterizer",
];
const HARDWARE = [
  "ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 Direct3D11 vs_5_0 ps_5_0, D3D11)",
  "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)",
  "Apple M1",
  "ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)",
  "Mali-G78",
  "AMD Radeon RX 6800 (radeonsi, navi21, LLVM 15.0.7, DRM 3.49)",
];

describe("isSoftwareRenderer", () => {
  it.each(SOFTWARE)("software: %s", (r) => expect(isSoftwareRenderer(r)).toBe(true));
  it.each(HARDWARE)("hardware: %s", (r) => expect(isSoftwareRenderer(r)).toBe(false));
});

describe("softwareName", () => {
  it("names the rasteriser for the status strip", () => {
    expect(softwareName(SOFTWARE[0])).toBe("SwiftShader");
    expect(softwareName(SOFTWARE[2])).toBe("llvmpipe");
    expect(softwareName("Microsoft Basic Render Driver")).toBe("software");
  });
});
