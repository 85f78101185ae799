// Sends an avatar file to POST /v1/rigs and reports how far it got (issue 25: uploads showed only
// "building a rig for …" for up to a minute). XMLHttpRequest, not fetch: only it tells how much
// of a request body has been sent. Phases: "uploading" (bytes sent), "inspecting" (the server
// builds the rig: about as long as `avatar-driver rig inspect` on the same file), then done.
import { serverToken } from "../connection/auth";
import { refusalDetail, statusHint } from "../connection/refusal";

export interface AvatarUploadProgress {
  filename: string;
  phase: "uploading" | "inspecting";
  sentBytes: number;
  totalBytes: number;
}

/** The rig the server built, as `GET /v1/rigs/{id}` describes it (the fields the viewer uses). */
export interface UploadedRig {
  id: string;
  channels: unknown[];
  report: { arkit: { working: number }; visemes: { working: number } };
  [key: string]: unknown;
}

export class AvatarUploadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** One line for the avatar box. */
export function describeUpload(p: AvatarUploadProgress): string {
  if (p.phase === "inspecting") return `${p.filename}: building its rig on the server…`;
  const share = p.totalBytes ? Math.floor((100 * p.sentBytes) / p.totalBytes) : 0;
  return `${p.filename}: uploading ${(p.sentBytes / 1e6).toFixed(1)} of ${(p.totalBytes / 1e6).toFixed(1)} MB (${share} %)`;
}

/** The server's reason (FastAPI's `detail`), else the status. */
export function uploadRefusal(status: number, body: string): AvatarUploadError {
  return new AvatarUploadError(status, `${refusalDetail(body) || `HTTP ${status}`}${statusHint(status)}`);
}

export function uploadAvatar(file: Blob, filename: string, onProgress: (p: AvatarUploadProgress) => void,
  params: Record<string, string> = { replace: "true" }): Promise<UploadedRig> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/rigs?${new URLSearchParams({ filename, ...params })}`);
    const token = serverToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    const report = (phase: AvatarUploadProgress["phase"], sentBytes: number) =>
      onProgress({ filename, phase, sentBytes, totalBytes: file.size });
    report("uploading", 0);
    xhr.upload.onprogress = (e) => report("uploading", e.loaded);
    xhr.upload.onload = () => report("inspecting", file.size);
    xhr.onload = () => {
      if (xhr.status !== 201 && xhr.status !== 200) return reject(uploadRefusal(xhr.status, xhr.responseText));
      try {
        resolve(JSON.parse(xhr.responseText) as UploadedRig);
      } catch {
        reject(new AvatarUploadError(xhr.status, "the server's answer was not JSON"));
      }
    };
    xhr.onerror = () => reject(new AvatarUploadError(0, "the upload failed (the connection was lost)"));
    xhr.send(file);
  });
}
