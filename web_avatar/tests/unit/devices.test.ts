import { describe, expect, it } from "vitest";
import { listDevices } from "../../src/capture/devices";

const device = (kind: MediaDeviceKind, deviceId: string, label = "") => ({ kind, deviceId, label, groupId: "g" }) as MediaDeviceInfo;

describe("device pickers", () => {
  it("list cameras and microphones by name, numbered while the browser hides names", async () => {
    const media = { enumerateDevices: async () => [
      device("videoinput", "c1", "Integrated Camera"), device("videoinput", "c2"),
      device("audioinput", "default", "Default"), device("audioinput", "m1", "USB Mic"), device("audiooutput", "s1", "Speakers"),
      device("videoinput", ""), // no access yet: no id, nothing to choose
    ] };
    expect(await listDevices(media)).toEqual({
      cameras: [{ id: "c1", label: "Integrated Camera" }, { id: "c2", label: "camera 2" }],
      microphones: [{ id: "m1", label: "USB Mic" }],
    });
  });

  it("are empty when the browser lists nothing or refuses", async () => {
    expect(await listDevices(null)).toEqual({ cameras: [], microphones: [] });
    expect(await listDevices({ enumerateDevices: () => Promise.reject(new Error("no")) })).toEqual({ cameras: [], microphones: [] });
  });
});
