// The status strip: in plain words what the connection, the camera, the voice and the
// emotion reading are doing, on one line along the top of the stage, above the avatar's head;
// a click unfolds the details (emotion bars, mood, sources). Everything it shows comes from the
// live stream: Stop, a lost face or an ended session clear it.
import { useState } from "react";
import { EMOTIONS } from "../generated/vocabulary";
import { runtime } from "../runtime";
import type { RenderQuality } from "../scene/AvatarView";
import { pageRenderer, softwareName } from "../scene/renderer";

/** The emotion sources (avatar_mapping/emotion_fusion.py) as a person would say them. */
const SOURCES: Record<string, string> = {
  face_cnn: "face (neural network)", au_prototypes: "face muscles", au_intensity: "expression strength",
  sensevoice: "speech model", prosody: "tone of voice",
};
const STATES: Record<string, string> = {
  idle: "not connected", connecting: "connecting…", open: "live", paused: "paused",
  reconnecting: "connection lost, reconnecting", closed: "ended",
};

const HUD_KEY = "avatar-driver-hud-open";

/** Whether the details were left unfolded (remembered in this browser). */
function readHudOpen(): boolean {
  try {
    return localStorage.getItem(HUD_KEY) === "1";
  } catch {
    return false;
  }
}

const sources = (s: string) => s.split("+").map((x) => SOURCES[x] ?? x.replace(/_/g, " ")).join(", ");
const level = (x: number, low: string, mid: string, high: string) => (x < 0.35 ? low : x < 0.65 ? mid : high);

/** Where WebGL runs in software, says so (the avatar is drawn at a few fps and lags behind the
 * camera), and suggests low render quality while it is high. */
function SoftwareRendering({ quality }: { quality: RenderQuality }) {
  const gl = pageRenderer();
  if (!gl.software) return null;
  const what = gl.renderer ? `in software (${softwareName(gl.renderer)})` : "without WebGL acceleration";
  return (
    <div className="warn" data-testid="software-rendering" title={gl.renderer ?? "no WebGL renderer"}>
      rendering {what}: the avatar is drawn at {runtime.renderFps} fps and lags behind the camera;{" "}
      {quality === "high" ? "set render quality to low (playback panel, top right)"
        : "render quality is low; a browser with GPU acceleration draws faster"}
    </div>
  );
}

export function Hud({ quality = "low" }: { quality?: RenderQuality }) {
  const [open, setOpenState] = useState(() => readHudOpen());
  const setOpen = (value: boolean) => {
    setOpenState(value);
    try {
      localStorage.setItem(HUD_KEY, value ? "1" : "0");
    } catch {
      // storage disabled: the choice lasts this page
    }
  };
  const e = runtime.emotion as Record<string, any> | null;
  const scores = (e?.scores ?? {}) as Record<string, number>;
  const speaking = typeof e?.speaking_probability === "number" && e.speaking_probability >= 0.5;
  const hasVoice = typeof e?.speaking_probability === "number";
  const face = e?.face_present === true;
  // A microphone-only session has no face to lose: say so instead of warning.
  const voiceOnly = runtime.sendsAudio && !runtime.sendsVideo;
  // Without a face (and without speech) there is nothing to read an emotion from.
  const reading = e && (face || speaking);
  const out = runtime.outputHzByVariant;
  const rtc = runtime.rtcStats;
  const transcript = runtime.transcript;
  const said = typeof transcript?.text === "string" ? transcript.text : "";
  const saidEmotion = typeof transcript?.emotion === "string" ? transcript.emotion : "";
  return (
    <div className={`hud ${open ? "open" : ""}`} data-testid="hud">
      <div className="hud-title" onClick={() => setOpen(!open)} title={open ? "fewer details" : "more details"}>
        <span className="fold">{open ? "▾" : "▸"}</span> <b className={`dot ${runtime.state}`} /> {STATES[runtime.state] ?? runtime.state}
        {runtime.stateDetail && <span className="muted"> {runtime.stateDetail}</span>}
        {" · "}<span className={e && !face && !voiceOnly ? "warn" : ""} data-testid="tracking">
          {e === null ? "no stream" : face ? "face tracked" : voiceOnly ? "voice only" : "face not found: tracking lost"}</span>
        {hasVoice && <> · {speaking ? "🗣 speaking" : "quiet"}</>}
        {reading && e.emotion && <> · looks <b>{e.emotion}</b></>}
      </div>
      <div className="muted">camera {runtime.inputFps} fps → avatar {out.B !== undefined ? `A ${out.A} Hz · B ${out.B} Hz` : `${out.A} Hz`}
        {" · "}drawn {runtime.renderFps} fps{" · "}delay {runtime.latencyMs ?? "–"} ms
        {runtime.transport && <span data-testid="transport-used">{" · "}{runtime.transport === "webrtc"
          ? `WebRTC${rtc?.rttMs != null ? ` rtt ${rtc.rttMs} ms` : ""}${rtc?.kbitPerSecond != null ? ` · ${rtc.kbitPerSecond} kbit/s` : ""}`
          : "WebSocket"}</span>}</div>
      <SoftwareRendering quality={quality} />
      {transcript && said && (
        <div className="transcript" data-testid="transcript">
          “{said}”{transcript.final ? "" : " …"}
          {saidEmotion && <span className="muted"> ({saidEmotion})</span>}
        </div>
      )}
      {open && (reading ? <div className="details">
        <div className="emotions">
          {EMOTIONS.map((name) => (
            <div key={name} className="emotion">
              <span className={e.emotion === name ? "top" : ""}>{name}</span>
              <div className="bar"><div style={{ width: `${((scores[name] ?? 0) * 100).toFixed(0)}%` }} /></div>
            </div>
          ))}
        </div>
        {typeof e.arousal === "number" && (
          <div className="muted" title="valence: how pleasant (−1 to 1); arousal: how energetic (0 to 1)">
            mood {typeof e.valence === "number" ? `${level((e.valence + 1) / 2, "unpleasant", "neutral", "pleasant")} (${e.valence.toFixed(2)})` : "–"}
            {" · "}energy {level(e.arousal, "calm", "moderate", "excited")} ({e.arousal.toFixed(2)})
          </div>
        )}
        {e.emotion_source && <div className="muted">read from {sources(String(e.emotion_source))}</div>}
      </div> : <div className="muted">emotion: nothing to read without a face or a voice</div>)}
      {runtime.lastError && <div className="error">{runtime.lastError}</div>}
    </div>
  );
}

export function ChannelPanel() {
  const driver = runtime.drivers.A;
  if (!driver) return null;
  const rows = [...driver.applied.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (rows.length === 0) return null; // nothing applied yet: no "channels (0)" before the first frame
  return (
    <details className="channels">
      <summary>channels ({rows.length})</summary>
      <div className="grid">
        {rows.map(([name, w]) => (
          <div key={name} className="row">
            <span>{name}</span>
            <div className="bar"><div style={{ width: `${(w * 100).toFixed(0)}%` }} /></div>
            <span>{w.toFixed(2)}</span>
          </div>
        ))}
      </div>
    </details>
  );
}
