// The calibration wizard: one click records the neutral face (3 s); the other steps are
// optional, picked in "More steps"; instructions, countdown and feedback come from the
// server's calibration_step events; then a before/after comparison at rest.
import { useEffect, useState } from "react";
import { api } from "../connection/auth";
import {
  CALIBRATION_FACE_STEPS, CALIBRATION_VOICE_STEPS, CalibrationStatus, MessageType, WizardState,
} from "../generated/protocol";
import { runtime } from "../runtime";

const NEUTRAL = CALIBRATION_FACE_STEPS[0];
const OPTIONAL_FACE: string[] = CALIBRATION_FACE_STEPS.slice(1);

/** The steps a run records: face steps (after a fresh neutral) with a camera, voice steps with a microphone. */
function runSteps(picked: Set<string>): string[] {
  const face = runtime.sendsVideo ? OPTIONAL_FACE.filter((s) => picked.has(s)) : [];
  const voice = runtime.sendsAudio ? CALIBRATION_VOICE_STEPS.filter((s) => picked.has(s)) : [];
  return [...(face.length ? [NEUTRAL, ...face] : []), ...voice];
}

export function Wizard({ userId }: { userId: string }) {
  const [before, setBefore] = useState<Map<string, number> | null>(null);
  const [steps, setSteps] = useState<string[]>([]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [stored, setStored] = useState<string>("");
  const [undone, setUndone] = useState<string>("");
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, []);
  const events = runtime.calibrationEvents;
  const last = events[events.length - 1] as Record<string, any> | undefined;
  const lastAt = (last as any)?.__at as number | undefined;
  const remaining = last?.remaining_s && lastAt ? Math.max(0, last.remaining_s - (now - lastAt) / 1000) : null;
  const result = runtime.calibrationResult as Record<string, any> | null;
  const running = last && !([WizardState.Done, WizardState.Failed, WizardState.Cancelled] as string[]).includes(last.state) && !result;

  /** Starts a run of `names` (the server checks them against the session's consent). */
  const start = (names: string[]) => {
    if (!userId || !names.length) return;
    setSteps(names);
    setUndone("");
    setBefore(new Map(runtime.drivers.A?.applied ?? []));
    runtime.calibrationEvents = [];
    runtime.calibrationResult = null;
    runtime.send(MessageType.CalibrationStart, { user_id: userId, steps: names });
  };
  const toggle = (name: string) => setPicked((p) => {
    const next = new Set(p);
    if (next.has(name)) next.delete(name); else next.add(name);
    return next;
  });
  const choices = (names: readonly string[], title: string, enabled: boolean) => (
    <fieldset disabled={!enabled}>
      <legend>{title}{!enabled && <span className="muted"> (needs the {title === "voice" ? "microphone" : "camera"})</span>}</legend>
      {names.map((n) => (
        <label key={n}><input type="checkbox" checked={picked.has(n)} onChange={() => toggle(n)} /> {n}</label>
      ))}
    </fieldset>
  );
  const table = async (method: string, body?: unknown) => {
    const r = await api(`/v1/calibration/${encodeURIComponent(userId)}`, {
      method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
    });
    const j = await r.json();
    setStored(r.ok ? JSON.stringify(method === "GET" ? { steps: j.steps, created_ms: j.created_ms } : j) : j.detail);
    return j;
  };
  const reset = async () => {
    const current = await table("GET");
    if (!current.channels) return;
    for (const ch of Object.values(current.channels) as any[]) Object.assign(ch, { neutral: 0, range: 1, curve: "gain", gain: 1, gamma: 1, dead_zone: 0 });
    Object.assign(current, { head_neutral_deg: { yaw: 0, pitch: 0, roll: 0 }, steps: [] });
    current.gaze = { offset_deg: { yaw: 0, pitch: 0 }, range_deg: { yaw: 25, pitch: 25 } };
    current.blink = { left: { open: 0, closed: 1 }, right: { open: 0, closed: 1 } };
    await table("PUT", current);
  };
  /** Undo the run just saved: the version before it applies again (versions are numbered per
   * user, 1, 2, 3 …); undoing a first calibration removes it. */
  const undo = async () => {
    const version = result!.version as number;
    const r = version > 1
      ? await api(`/v1/calibration/${encodeURIComponent(userId)}/revert?version=${version - 1}`, { method: "POST" })
      : await api(`/v1/calibration/${encodeURIComponent(userId)}`, { method: "DELETE" });
    const j = await r.json();
    setUndone(r.ok ? (version > 1 ? `undone: version ${version - 1} applies again (saved as version ${j.version})`
      : "undone: no calibration applies") : `undo failed: ${j.detail}`);
  };
  /** Why each step that never passed was skipped (its last rejection). */
  const skippedWhy = (step: string) =>
    [...events].reverse().find((e: any) => e.step === step && e.state === WizardState.Rejected)?.reason as string | undefined;
  const compare = result?.status === CalibrationStatus.Saved && before
    ? [...before.entries()].filter(([n]) => !n.startsWith("viseme_")).sort((a, b) => b[1] - a[1]).slice(0, 8)
    : [];

  return (
    <div className="wizard" data-testid="wizard">
      <h3>Calibration {userId ? <span className="muted">for {userId}</span> : <span className="error">(set a user id first)</span>}</h3>
      {!running && (
        <>
          <button data-testid="calibrate-neutral" onClick={() => start([NEUTRAL])}
            disabled={!userId || runtime.state !== "open" || !runtime.sendsVideo}
            title="Relax your face and look at the camera for 3 seconds: what you do at rest becomes the avatar's rest">
            Start calibration: neutral face (3 s)</button>
          <details className="more-steps">
            <summary>More steps (optional): your own maximum of each expression, your eyes, your voice</summary>
            {choices(OPTIONAL_FACE, "face", runtime.sendsVideo)}
            {choices(CALIBRATION_VOICE_STEPS, "voice", runtime.sendsAudio)}
            <button onClick={() => start(runSteps(picked))}
              disabled={!userId || runtime.state !== "open" || runSteps(picked).length === 0}>
              Record {runSteps(picked).length || ""} steps</button>
            <div className="muted">Face steps start with a fresh neutral (3 s); each step gets two tries and is
              skipped if it does not work. What you leave out keeps its earlier calibration.</div>
          </details>
        </>
      )}
      {running && <button onClick={() => runtime.send(MessageType.CalibrationStep, { action: "cancel" })}>Cancel</button>}
      {last && (
        <div className={`step ${last.state}`}>
          <div className="progress">step {Math.min(last.index + 1, last.count)} of {last.count}: <b>{last.step ?? "done"}</b> · {last.state}
            {remaining !== null && running && <> · {remaining.toFixed(1)} s</>}</div>
          {running && <div className="instruction">{last.state === WizardState.Prepare ? "Get ready: " : ""}{last.instruction}</div>}
          {last.reason && <div className="error">{last.reason}</div>}
        </div>
      )}
      <ol className="steps">
        {steps.map((s) => {
          const done = events.some((e: any) => e.step === s && e.state === WizardState.Accepted);
          const skipped = (result?.skipped as string[] | undefined)?.includes(s);
          return <li key={s} className={done ? "done" : skipped ? "skipped" : last?.step === s ? "current" : ""}>{s}</li>;
        })}
      </ol>
      {result && <div className={result.status === CalibrationStatus.Saved ? "ok" : "error"} data-testid="calibration-result">
        {result.status === CalibrationStatus.Saved ? `saved as version ${result.version}; applied now` : `failed: ${result.reason}`}</div>}
      {(result?.skipped as string[] | undefined)?.map((s) => (
        <div key={s} className="muted">skipped {s}: {skippedWhy(s) ?? "it never passed"}</div>))}
      {result?.status === CalibrationStatus.Saved && !undone && <button onClick={() => void undo()}>Undo this calibration</button>}
      {undone && <div className="muted">{undone}</div>}
      {compare.length > 0 && (
        <table className="compare"><thead><tr><th>at rest</th><th>before</th><th>after</th></tr></thead><tbody>
          {compare.map(([n, b]) => <tr key={n}><td>{n}</td><td>{b.toFixed(2)}</td><td>{(runtime.drivers.A?.weight(n) ?? 0).toFixed(2)}</td></tr>)}
        </tbody></table>
      )}
      <div className="buttons">
        <button onClick={() => void table("GET")} disabled={!userId}>Show saved table</button>
        <button onClick={() => void reset()} disabled={!userId}>Reset</button>
        <button onClick={() => void table("DELETE")} disabled={!userId}>Delete</button>
      </div>
      {stored && <pre className="muted">{stored}</pre>}
    </div>
  );
}
