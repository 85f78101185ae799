"""A SpeechEmotionReport as one self-contained HTML page: distribution bars, a timeline of
utterances coloured by class over the prosody arousal curve (axes, legends), and the
utterance table with transcripts. Inline SVG and CSS, no scripts, nothing fetched; the
report's JSON is embedded for machines (``<script type="application/json" id="report">``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path

from .speech_emotion import UNKNOWN, SpeechEmotionReport

COLOURS = {
    "neutral": "#9aa0a6",
    "happy": "#f4b400",
    "sad": "#4285f4",
    "angry": "#db4437",
    "surprise": "#ab47bc",
    "disgust": "#0f9d58",
    "fear": "#795548",
    "low": "#4e79a7",
    "medium": "#f2b447",
    "high": "#e15759",
    UNKNOWN: "#d0d0d0",
}
WIDTH, LEFT, RIGHT = 960, 70, 20
NICE_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


def write_report(report: SpeechEmotionReport, path: Path, title: str) -> list[Path]:
    """``.json``: the JSON; otherwise the HTML page and its JSON beside it. Returns the files."""
    data = json.dumps(report.as_dict(), indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(data)
        return [path]
    path.write_text(render(report, title))
    path.with_suffix(".json").write_text(data)
    return [path, path.with_suffix(".json")]


def clock(seconds: float) -> str:
    s = int(round(seconds))
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def tick_step(duration_s: float, most: int = 12) -> int:
    return next((s for s in NICE_STEPS_S if duration_s / s <= most), NICE_STEPS_S[-1])


def render(report: SpeechEmotionReport, title: str = "Speech emotion report") -> str:
    data = report.as_dict()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: {WIDTH + 40}px; color: #202124; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }} h2 {{ font-size: 16px; margin: 24px 0 8px; }}
.note {{ color: #5f6368; }} svg text {{ font: 12px system-ui, sans-serif; fill: #3c4043; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ padding: 3px 8px; border-bottom: 1px solid #eee;
text-align: left; vertical-align: top; }} th {{ background: #f8f9fa; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p class="note">{clock(report.duration_s)} of audio, {clock(report.speech_s)} of speech in
{len(report.utterances)} utterances. Classes: {escape(data["source_note"])}. Each utterance's class is the
majority vote of its overlapping {report.options.window_s:g} s windows (hop {report.options.hop_s:g} s);
its confidence is the winning class's share of the votes.{_damage(report)}</p>
<h2>Distribution (share of speech time)</h2>
{_distribution(report)}
<h2>Timeline</h2>
{_timeline(report)}
<h2>Utterances</h2>
{_table(report)}
<script type="application/json" id="report">{_json_for_script(data)}</script>
</body></html>
"""


def _damage(report: SpeechEmotionReport) -> str:
    n = report.damaged_packets
    return (
        f" <strong>{n} damaged audio packet{'s' * (n != 1)} could not be decoded and are missing.</strong>" if n else ""
    )


def _classes(report: SpeechEmotionReport) -> list[str]:
    present = {u.label for u in report.utterances}
    return list(report.classes) + ([UNKNOWN] if UNKNOWN in present else [])


def _distribution(report: SpeechEmotionReport) -> str:
    dist = report.distribution()
    row, bar_left, bar_width = 26, 110, WIDTH - 110 - 170
    rows = []
    for i, c in enumerate(_classes(report)):
        d = dist[c]
        y = i * row + 4
        w = max(0.0, d["share"]) * bar_width
        rows.append(
            f'<text x="{bar_left - 8}" y="{y + 14}" text-anchor="end">{escape(c)}</text>'
            f'<rect x="{bar_left}" y="{y}" width="{bar_width}" height="18" fill="#f1f3f4"/>'
            f'<rect class="bar" data-class="{escape(c)}" x="{bar_left}" y="{y}" width="{w:.1f}" height="18" '
            f'fill="{COLOURS.get(c, "#888")}"/>'
            f'<text x="{bar_left + bar_width + 8}" y="{y + 14}">{100 * d["share"]:.1f} % · '
            f"{clock(d['seconds'])} · {int(d['utterances'])} utt.</text>"
        )
    height = len(rows) * row + 8
    return (
        f'<svg id="distribution" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="distribution">{"".join(rows)}</svg>'
    )


def _timeline(report: SpeechEmotionReport) -> str:
    duration = max(report.duration_s, 1e-3)
    plot = WIDTH - LEFT - RIGHT
    band_top, band_h, curve_top, curve_h = 10, 34, 70, 120
    axis_y = curve_top + curve_h

    def x(t: float) -> float:
        return LEFT + plot * t / duration

    parts = [f'<text x="{LEFT - 8}" y="{band_top + 22}" text-anchor="end">class</text>']
    for u in report.utterances:
        parts.append(
            f'<rect class="utterance" data-class="{escape(u.label)}" x="{x(u.start_s):.2f}" y="{band_top}" '
            f'width="{max(x(u.end_s) - x(u.start_s), 0.8):.2f}" height="{band_h}" '
            f'fill="{COLOURS.get(u.label, "#888")}"><title>{clock(u.start_s)}–{clock(u.end_s)} '
            f"{escape(u.label)} ({100 * u.confidence:.0f} %) {escape(u.text)}</title></rect>"
        )
    for level in (0.0, 0.5, 1.0):
        y = axis_y - curve_h * level
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{level:g}</text>'
        )
    parts.append(
        f'<text transform="translate(14 {curve_top + curve_h / 2}) rotate(-90)" text-anchor="middle">'
        "arousal (prosody)</text>"
    )
    for run in _runs(report.arousal_curve, 2 * report.options.window_s):
        points = " ".join(f"{x(t):.1f},{axis_y - curve_h * a:.1f}" for t, a in run)
        parts.append(f'<polyline class="arousal" points="{points}" fill="none" stroke="#202124" stroke-width="1.5"/>')
    parts += [
        f'<circle cx="{x(t):.1f}" cy="{axis_y - curve_h * a:.1f}" r="2.5" fill="#202124"/>'
        for t, a in report.arousal_curve
    ]
    step = tick_step(duration)
    parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot}" y1="{axis_y}" y2="{axis_y}" stroke="#5f6368"/>')
    for i in range(int(duration // step) + 1):
        tx = x(i * step)
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{axis_y}" y2="{axis_y + 5}" stroke="#5f6368"/>'
            f'<text x="{tx:.1f}" y="{axis_y + 18}" text-anchor="middle">{clock(i * step)}</text>'
        )
    parts.append(f'<text x="{LEFT + plot / 2}" y="{axis_y + 34}" text-anchor="middle">time</text>')
    legend_y = axis_y + 52
    lx = LEFT
    for c in _classes(report):
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{COLOURS.get(c, "#888")}"/>'
            f'<text x="{lx + 16}" y="{legend_y}">{escape(c)}</text>'
        )
        lx += 24 + 8 * len(c) + 16
    parts.append(
        f'<line x1="{lx}" x2="{lx + 20}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="#202124" '
        f'stroke-width="1.5"/><text x="{lx + 26}" y="{legend_y}">arousal</text>'
    )
    height = legend_y + 10
    return (
        f'<svg id="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="timeline">{"".join(parts)}</svg>'
    )


def _runs(curve: Iterable[tuple[float, float]], gap_s: float) -> list[list[tuple[float, float]]]:
    """The curve cut where it has no point for longer than ``gap_s`` (long silences are not
    drawn as if someone spoke through them)."""
    runs: list[list[tuple[float, float]]] = []
    for point in curve:
        if not runs or point[0] - runs[-1][-1][0] > gap_s:
            runs.append([])
        runs[-1].append(point)
    return runs


def _table(report: SpeechEmotionReport) -> str:
    transcripts = any(u.text for u in report.utterances)  # none without SenseVoice: no empty column
    rows = "".join(
        f'<tr><td>{clock(u.start_s)}–{clock(u.end_s)}</td><td><span class="swatch" '
        f'style="background:{COLOURS.get(u.label, "#888")}"></span>{escape(u.label)}</td>'
        f"<td>{100 * u.confidence:.0f} %</td><td>{'–' if u.arousal is None else f'{u.arousal:.2f}'}</td>"
        + (f"<td>{escape(u.text)}</td>" if transcripts else "")
        + "</tr>"
        for u in report.utterances
    )
    head = "<th>transcript</th>" if transcripts else ""
    return (
        '<table id="utterances"><tr><th>time</th><th>class</th><th>confidence</th><th>arousal</th>'
        f"{head}</tr>{rows}</table>"
    )


def _json_for_script(data: Mapping[str, object]) -> str:
    """JSON that cannot end the script element early (a transcript saying "</script>")."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
