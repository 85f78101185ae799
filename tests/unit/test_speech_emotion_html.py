"""The speech-emotion report as an HTML page: bars, timeline, legend, table, embedded JSON."""

import json
import re

import numpy as np

from server.tools.speech_emotion import AROUSAL_LEVELS, SpeechEmotionOptions, SpeechEmotionReport, Utterance
from server.tools.speech_emotion_html import clock, render, tick_step


def report(duration_s: float = 3725.0, texts: tuple[str, str] = ("", "")) -> SpeechEmotionReport:
    utterances = (
        Utterance(10.0, 14.0, "low", 1.0, {"low": 2}, 0.2, texts[0]),
        Utterance(3600.0, 3608.5, "high", 0.75, {"high": 3, "low": 1}, 0.8, texts[1]),
        Utterance(3700.0, 3700.4, "unknown", 0.0, {}, None),
    )
    curve = ((11.0, 0.2), (13.0, 0.25), (3602.0, 0.8), (3604.0, 0.85), (3606.0, 0.7))
    return SpeechEmotionReport("prosody", AROUSAL_LEVELS, duration_s, utterances, curve, SpeechEmotionOptions())


def test_the_page_draws_every_utterance_class_and_the_arousal_curve() -> None:
    page = render(report())
    assert page.count('class="utterance"') == 3
    bars = dict(re.findall(r'class="bar" data-class="(\w+)" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', page))
    assert set(bars) == {"low", "medium", "high", "unknown"}  # unknown only because it occurs
    assert float(bars["high"]) > float(bars["low"]) > float(bars["unknown"]) and float(bars["medium"]) == 0
    # The curve is not drawn across the hour of silence between the utterances.
    assert page.count('class="arousal"') == 2
    assert ">1:00:00<" in page and "time</text>" in page and "arousal (prosody)" in page
    assert "prosody does not tell pleasant from unpleasant" in page
    assert "<th>transcript</th>" not in page  # no transcripts (no SenseVoice): no empty column
    assert "<th>transcript</th>" in render(report(texts=("hello", "")))
    script = re.search(r'<script type="application/json" id="report">(.*?)</script>', page)
    assert script is not None
    data = json.loads(script.group(1))
    assert data == json.loads(json.dumps(report().as_dict()))


def test_transcripts_cannot_break_the_page() -> None:
    evil = "</script><script>alert(1)</script> & <b>"
    page = render(report(texts=(evil, "ok")), title="<i>t</i>")
    assert "<script>alert" not in page and "<b>" not in page and "<i>t</i>" not in page
    embedded = re.search(r'id="report">(.*?)</script>', page)
    assert embedded is not None
    assert json.loads(embedded.group(1))["utterances"][0]["text"] == evil


def test_clock_and_ticks() -> None:
    assert [clock(s) for s in (0, 59.6, 61, 3600, 3725)] == ["0:00", "1:00", "1:01", "1:00:00", "1:02:05"]
    assert tick_step(50) == 5 and tick_step(1800) == 300 and tick_step(4 * 3600) == 1800
    assert all(d / tick_step(d) <= 12 for d in np.geomspace(1, 20 * 3600, 40))
