import { describe, expect, it } from "vitest";
import { describeUpload, uploadRefusal } from "../../src/scene/avatarUpload";

describe("avatar upload progress (issue 25: only 'building a rig for …' for up to a minute)", () => {
  it("names the file and says how far the upload and the inspection got", () => {
    const uploading = describeUpload({ filename: "vroid.glb", phase: "uploading", sentBytes: 1_172_560, totalBytes: 2_345_120 });
    expect(uploading).toBe("vroid.glb: uploading 1.2 of 2.3 MB (50 %)");
    expect(describeUpload({ filename: "vroid.glb", phase: "inspecting", sentBytes: 2_345_120, totalBytes: 2_345_120 }))
      .toBe("vroid.glb: building its rig on the server…");
  });

  it("says why the server refused", () => {
    expect(uploadRefusal(422, JSON.stringify({ detail: "the file has no meshes" })).message).toBe("the file has no meshes");
    expect(uploadRefusal(503, "").message).toMatch(/HTTP 503 \(the server is busy/);
  });
});
