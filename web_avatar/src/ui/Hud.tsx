import { EMOTIONS } from "../generated/vocabulary";
import { runtime } from "../runtime";

export function Hud() {
  const e = runtime.emotion as Record<string, any> | null;
  const scores = (e?.scores ?? {}) as Record<string, number>;
  const speaking = typeof e?.speaking_probability === "number" && e.speaking_probability >= 0.5;
  return (
    <div className="hud" data-testid="hud">
      <div><b className={`dot ${runtime.state}`} /> {runtime.state} {runtime.stateDetail && <span className="muted">{runtime.stateDetail}</span>}</div>
      <div>in {runtime.inputFps} fps · out {runtime.outputHz} Hz · latency {runtime.latencyMs ?? "–"} ms</div>
      <div>face {e?.face_present ? "yes" : "no"} · {speaking ? "🗣 speaking" : "quiet"}</div>
      <div className="emotions">
        {EMOTIONS.map((name) => (
          <div key={name} className="emotion">
            <span className={e?.emotion === name ? "top" : ""}>{name}</span>
            <div className="bar"><div style={{ width: `${((scores[name] ?? 0) * 100).toFixed(0)}%` }} /></div>
          </div>
        ))}
      </div>
      {e?.emotion_source && <div className="muted">emotion from {e.emotion_source}</div>}
      {typeof e?.arousal === "number" && (
        <div className="muted">
          valence {typeof e.valence === "number" ? e.valence.toFixed(2) : "–"} · arousal {e.arousal.toFixed(2)}
        </div>
      )}
      {runtime.transcript?.text && (
        <div className="transcript" data-testid="transcript">
          “{runtime.transcript.text}”{runtime.transcript.final ? "" : " …"}
          {runtime.transcript.emotion && <span className="muted"> ({runtime.transcript.emotion})</span>}
        </div>
      )}
      {runtime.lastError && <div className="error">{runtime.lastError}</div>}
    </div>
  );
}

export function ChannelPanel() {
  const driver = runtime.drivers.A;
  if (!driver) return null;
  const rows = [...driver.applied.entries()].sort(([a], [b]) => a.localeCompare(b));
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
