// The cameras and microphones the browser offers, for the consent form's pickers. Before the
// page was granted access, browsers hide the names (and some the ids): those show as
// "camera 1", "microphone 1" until the first Start.

export interface Device {
  id: string;
  label: string;
}

export interface Devices {
  cameras: Device[];
  microphones: Device[];
}

export async function listDevices(
  media: Pick<MediaDevices, "enumerateDevices"> | null = typeof navigator === "undefined" ? null : navigator.mediaDevices ?? null,
): Promise<Devices> {
  const all = media ? await media.enumerateDevices().catch(() => []) : [];
  const pick = (kind: MediaDeviceKind, noun: string) =>
    all.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== "default")
      .map((d, i) => ({ id: d.deviceId, label: d.label || `${noun} ${i + 1}` }));
  return { cameras: pick("videoinput", "camera"), microphones: pick("audioinput", "microphone") };
}
