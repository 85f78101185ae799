"""The SenseVoice rich-output parser, on output strings SenseVoice actually writes."""

from typing import Any

import pytest

from avatar_mapping.vocabulary import EMOTIONS
from server.inference.speech_tags import EMOTION_TAGS, SpeechTagError, parse_result, parse_rich_text

# From the SenseVoice model card / README examples and FunASR's documented outputs.
MODEL_CARD_EN = (
    "<|en|><|NEUTRAL|><|Speech|><|woitn|>the tribal chieftain called for the boy and presented him "
    "with fifty pieces of gold"
)
MODEL_CARD_ZH = "<|zh|><|NEUTRAL|><|Speech|><|withitn|>欢迎大家来体验达摩院推出的语音识别模型。"
NO_SPEECH = "<|nospeech|><|Event_UNK|>"
MERGED_VAD = "<|en|><|NEUTRAL|><|Speech|>Hello world <|ko|><|HAPPY|><|BGM|>안녕하세요"


def test_a_single_segment_gives_language_emotion_and_text() -> None:
    (seg,) = parse_rich_text(MODEL_CARD_EN)
    assert (seg.language, seg.emotion, seg.events) == ("en", "neutral", ())
    assert seg.text.startswith("the tribal chieftain") and seg.text.endswith("gold")
    (zh,) = parse_rich_text(MODEL_CARD_ZH)
    assert zh.language == "zh" and zh.text == "欢迎大家来体验达摩院推出的语音识别模型。"


def test_no_speech_is_a_segment_without_text_or_language_vote() -> None:
    r = parse_result({"key": "k", "text": NO_SPEECH})
    assert r.text == "" and r.language is None and r.emotion is None and r.events == ("unknown",)


def test_merged_vad_segments_are_split_at_each_language_tag() -> None:
    r = parse_result({"key": "k", "text": MERGED_VAD})
    assert [(s.language, s.emotion, s.events, s.text) for s in r.segments] == [
        ("en", "neutral", (), "Hello world"),
        ("ko", "happy", ("music",), "안녕하세요"),
    ]
    assert r.language == "en"  # 11 characters of English against 5 of Korean
    assert r.text == "Hello world 안녕하세요"


def test_events_and_unknown_emotion() -> None:
    r = parse_result({"key": "k", "text": "<|en|><|HAPPY|><|Laughter|><|withitn|>That's so funny."})
    assert r.emotion == "happy" and r.events == ("laughter",)
    r = parse_result({"key": "k", "text": "<|ja|><|EMO_UNKNOWN|><|Speech|><|woitn|>こんにちは"})
    assert r.emotion is None and r.language == "ja"


def test_word_timestamps_from_output_timestamp() -> None:
    r = parse_result(
        {
            "key": "k",
            "text": "<|en|><|NEUTRAL|><|Speech|><|withitn|>Good morning.",
            "timestamp": [[150, 420], [480, 930]],
            "words": ["Good", "morning."],
        }
    )
    assert [(w.text, w.start_ms, w.end_ms) for w in r.words] == [("Good", 150, 420), ("morning.", 480, 930)]


def test_every_emotion_tag_maps_to_a_protocol_class() -> None:
    assert {c for c in EMOTION_TAGS.values() if c is not None} == set(EMOTIONS)


@pytest.mark.parametrize(
    "bad",
    [
        {"key": "k"},
        {"key": "k", "text": "<|xx|>hi"},
        {"key": "k", "text": "<|en|>hi", "timestamp": [[0, 1]], "words": []},
    ],
)
def test_malformed_results_raise_a_specific_error(bad: dict[str, Any]) -> None:
    with pytest.raises(SpeechTagError):
        parse_result(bad)
