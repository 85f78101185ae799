// The speech-emotion page: pick or drop a recording, watch the analysis progress, read the
// server's report (the same HTML page `avatar-driver analyze --emotion-report` writes).
import { serverToken } from "../connection/auth";
import "../styles.css";
import { describe, embeddedJson, uploadForReport } from "./upload";

serverToken(); // takes a #token= out of the address bar

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = el<HTMLInputElement>("file");
const drop = el<HTMLLabelElement>("drop");
const status = el<HTMLDivElement>("status");
const progress = el<HTMLProgressElement>("progress");
const frame = el<HTMLIFrameElement>("report");
const downloads = el<HTMLElement>("downloads");
let busy = false;

function link(id: string, text: string, type: string, name: string) {
  const a = el<HTMLAnchorElement>(id);
  if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
}

async function analyse(file: File) {
  if (busy) return;
  busy = true;
  document.body.dataset.state = "running";
  frame.hidden = downloads.hidden = true;
  progress.hidden = false;
  progress.value = 0;
  status.textContent = `Sending ${file.name}…`;
  try {
    const html = await uploadForReport(file, `Speech emotion: ${file.name}`, (p) => {
      progress.value = p.totalBytes ? p.sentBytes / p.totalBytes : 0;
      if (p.phase === "finishing") progress.removeAttribute("value"); // indeterminate
      status.textContent = describe(p);
    });
    frame.srcdoc = html;
    frame.hidden = false;
    const stem = file.name.replace(/\.[^.]+$/, "");
    link("download-html", html, "text/html", `${stem}-emotion.html`);
    link("download-json", embeddedJson(html) ?? "{}", "application/json", `${stem}-emotion.json`);
    downloads.hidden = false;
    status.textContent = `${file.name}: done.`;
    document.body.dataset.state = "done";
  } catch (e) {
    status.textContent = `${file.name}: ${(e as Error).message}`;
    document.body.dataset.state = "failed";
  } finally {
    progress.hidden = true;
    busy = false;
  }
}

input.addEventListener("change", () => input.files?.[0] && void analyse(input.files[0]));
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files[0];
  if (file) void analyse(file);
});
frame.addEventListener("load", () => {
  // Size the frame to its page so the report scrolls with this one.
  const doc = frame.contentDocument;
  if (doc) frame.style.height = `${doc.documentElement.scrollHeight + 20}px`;
});
