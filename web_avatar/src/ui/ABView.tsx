// A/B view: the same input mapped by two strategies, side by side. In blind mode the sides
// are shuffled for every trial and the strategy names hidden; votes go to the server.
import { useEffect, useState } from "react";
import { api } from "../connection/auth";
import { MessageType } from "../generated/protocol";
import { runtime, type Variant } from "../runtime";
import { AvatarView, type RenderQuality } from "../scene/AvatarView";

export interface Trial {
  id: string;
  left: Variant;
}

export function newTrial(blind: boolean, random: () => number = Math.random): Trial {
  return { id: crypto.randomUUID(), left: blind && random() < 0.5 ? "B" : "A" };
}

export function ABControls({ strategies, blind, setBlind, compare, setCompare }: {
  strategies: string[]; blind: boolean; setBlind: (b: boolean) => void;
  compare: string | null; setCompare: (s: string | null) => void;
}) {
  return (
    <section className="ab-controls" data-testid="ab-controls">
      <h3>A/B comparison</h3>
      <label>B strategy <select value={compare ?? ""} data-testid="ab-strategy" onChange={(e) => {
        const s = e.target.value || null;
        setCompare(s);
        runtime.send(MessageType.Configure, { compare: s ? { strategy: s } : null });
      }}>
        <option value="">off</option>
        {strategies.map((s) => <option key={s}>{s}</option>)}
      </select></label>
      <label><input type="checkbox" checked={blind} onChange={(e) => setBlind(e.target.checked)} /> Blind (shuffle sides, hide names)</label>
    </section>
  );
}

export function ABView({ url, blind, quality, onError }: {
  url: string; blind: boolean; quality: RenderQuality; onError: (m: string) => void;
}) {
  const [trial, setTrial] = useState<Trial>(() => newTrial(blind));
  const [rating, setRating] = useState(0);
  const [comment, setComment] = useState("");
  const [summary, setSummary] = useState("");
  useEffect(() => setTrial(newTrial(blind)), [blind]);
  const config = runtime.configured ?? (runtime.client?.welcome as Record<string, any> | null);
  const names: Record<Variant, string> = { A: String(config?.strategy ?? "A"), B: String(config?.compare?.strategy ?? "B") };
  const sides: [Variant, Variant] = trial.left === "A" ? ["A", "B"] : ["B", "A"];

  const vote = async (variant: Variant) => {
    const r = await api("/v1/ab/votes", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({
        trial_id: trial.id, strategy_a: names.A, strategy_b: names.B, chosen: variant, blind,
        session_id: runtime.sessionId, ...(rating ? { rating } : {}), ...(comment ? { comment } : {}),
      }),
    });
    const j = await r.json();
    if (!r.ok) {
      onError(`vote refused: ${j.detail}`);
      return;
    }
    const results = await (await api("/v1/ab/results")).json();
    setSummary(results.pairs.map((p: any) => `${p.strategies[0]} ${p.wins[p.strategies[0]]} : ${p.wins[p.strategies[1]]} ${p.strategies[1]} (n=${p.n}, p=${p.p_value.toFixed(3)})`).join("; "));
    setTrial(newTrial(blind));
    setRating(0);
    setComment("");
  };

  return (
    <div className="ab" data-testid="ab-view">
      <div className="ab-sides">
        {sides.map((variant, i) => (
          <div key={`${trial.id}-${variant}`} className="ab-side">
            {/* The label under the avatar, next to its vote button: the status strip lies over the top of the stage. */}
            <AvatarView url={url} variant={variant} onLoaded={() => undefined} onError={onError} idle={false} quality={quality} />
            <div className="ab-label" data-testid={`ab-label-${i === 0 ? "left" : "right"}`}>{i === 0 ? "Left" : "Right"}{blind ? "" : `: ${names[variant]}`}</div>
            <button className="primary" data-testid={`vote-${i === 0 ? "left" : "right"}`} onClick={() => void vote(variant)}>
              {i === 0 ? "Left" : "Right"} is better</button>
          </div>
        ))}
      </div>
      <div className="ab-vote">
        <label>Rating of the better one <select value={rating} onChange={(e) => setRating(Number(e.target.value))}>
          <option value={0}>–</option>{[1, 2, 3, 4, 5].map((n) => <option key={n}>{n}</option>)}</select></label>
        <input placeholder="comment (optional)" value={comment} maxLength={1000} onChange={(e) => setComment(e.target.value)} />
        <span className="muted" data-testid="ab-results">{summary}</span>
      </div>
    </div>
  );
}
