// Uploads a recording to POST /v1/speech-emotion and reports progress. XMLHttpRequest, not
// fetch: only it tells how much of a request body has been sent. The server analyses the
// upload as it arrives and reads it no faster than it analyses, so the bytes sent are the
// analysis's progress too (give or take a few buffers).
import { serverToken } from "../connection/auth";
import { refusalDetail, statusHint } from "../connection/refusal";

export interface Progress {
  sentBytes: number;
  totalBytes: number;
  phase: "uploading" | "finishing";
}

export class ReportError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function describe(p: Progress): string {
  if (p.phase === "finishing") return "Analysing the last utterances…";
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const share = p.totalBytes ? Math.floor((100 * p.sentBytes) / p.totalBytes) : 0;
  return `Analysing… ${mb(p.sentBytes)} of ${mb(p.totalBytes)} MB (${share} %)`;
}

/** The JSON a report page embeds (`<script type="application/json" id="report">`). */
export function embeddedJson(html: string): string | null {
  const m = /<script type="application\/json" id="report">([\s\S]*?)<\/script>/.exec(html);
  return m ? m[1] : null;
}

/** Why the server refused: FastAPI's `{detail}`, else the status text. */
export function refusal(status: number, body: string): ReportError {
  return new ReportError(status, `${status}: ${refusalDetail(body) || "no answer"}${statusHint(status)}`);
}

export function uploadForReport(file: Blob, title: string, onProgress: (p: Progress) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const params = new URLSearchParams({ format: "html", title });
    xhr.open("POST", `/v1/speech-emotion?${params}`);
    const token = serverToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => onProgress({ sentBytes: e.loaded, totalBytes: e.total || file.size, phase: "uploading" });
    xhr.upload.onload = () => onProgress({ sentBytes: file.size, totalBytes: file.size, phase: "finishing" });
    xhr.onload = () => (xhr.status === 200 ? resolve(xhr.responseText) : reject(refusal(xhr.status, xhr.responseText)));
    xhr.onerror = () => reject(new ReportError(0, "the upload failed (the connection was lost)"));
    xhr.send(file);
  });
}
