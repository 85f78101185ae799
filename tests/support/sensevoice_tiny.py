"""A tiny, randomly initialised SenseVoiceSmall in the layout of the hub's model directory.

Built with FunASR's own SenseVoiceSmall class, a generated SentencePiece tokenizer that
has every special token SenseVoice writes, an identity-ish am.mvn and the same
config.yaml/configuration.json keys as iic/SenseVoiceSmall, so that the production loader
(`SenseVoiceRecognizer`) loads it exactly as it loads the real weights.
"""

from __future__ import annotations

import json
from pathlib import Path

from server.inference.speech_tags import EMOTION_TAGS, EVENT_TAGS, LANGUAGES, TEXT_NORM_TAGS

BPE_NAME = "chn_jpn_yue_eng_ko_spectok.bpe.model"
SPECIALS = (
    [f"<|{t}|>" for t in LANGUAGES]
    + [f"<|{t}|>" for t in EMOTION_TAGS]
    + [f"<|{t}|>" for t in EVENT_TAGS]
    + [f"<|{t}|>" for t in TEXT_NORM_TAGS]
)
FEATURE_DIM = 80 * 7  # 80 mel bands x low-frame-rate stacking of 7


def build_tiny_sensevoice(model_dir: Path, seed: int = 0, favour: dict[str, float] | None = None) -> Path:
    """Write the model directory. ``favour``: CTC output biases by token (e.g.
    {"▁the": 20, "<|HAPPY|>": 10}) at every frame, so the outputs are known in advance."""
    import sentencepiece as spm
    import torch
    import yaml
    from funasr.models.sense_voice.model import SenseVoiceSmall

    model_dir.mkdir(parents=True, exist_ok=True)
    corpus = model_dir / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog hello avatar speech\n" * 50)
    prefix = model_dir / "tokenizer"
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=80,
        model_type="bpe",
        user_defined_symbols=SPECIALS,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        minloglevel=2,
    )
    prefix.with_suffix(".model").rename(model_dir / BPE_NAME)
    prefix.with_suffix(".vocab").unlink()
    corpus.unlink()
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / BPE_NAME))

    encoder_conf = {
        "output_size": 32,
        "attention_heads": 2,
        "linear_units": 64,
        "num_blocks": 2,
        "tp_blocks": 1,
        "dropout_rate": 0.0,
        "positional_dropout_rate": 0.0,
        "attention_dropout_rate": 0.0,
        "input_layer": "pe",
        "pos_enc_class": "SinusoidalPositionEncoder",
        "normalize_before": True,
        "kernel_size": 11,
        "sanm_shfit": 0,
        "selfattention_layer_type": "sanm",
    }
    model_conf = {"length_normalized_loss": True, "sos": 1, "eos": 2, "ignore_id": -1}
    config = {
        "model": "SenseVoiceSmall",
        "model_conf": model_conf,
        "encoder": "SenseVoiceEncoderSmall",
        "encoder_conf": encoder_conf,
        "tokenizer": "SentencepiecesTokenizer",
        "tokenizer_conf": {"bpemodel": None, "unk_symbol": "<unk>", "split_with_space": True},
        "frontend": "WavFrontend",
        "frontend_conf": {
            "fs": 16000,
            "window": "hamming",
            "n_mels": 80,
            "frame_length": 25,
            "frame_shift": 10,
            "lfr_m": 7,
            "lfr_n": 6,
            "cmvn_file": None,
        },
        "input_size": FEATURE_DIM,
        "vocab_size": sp.get_piece_size(),
    }
    (model_dir / "config.yaml").write_text(yaml.safe_dump(config))
    (model_dir / "configuration.json").write_text(
        json.dumps(
            {
                "framework": "pytorch",
                "task": "auto-speech-recognition",
                "model": {"type": "funasr"},
                "pipeline": {"type": "funasr-pipeline"},
                "file_path_metas": {
                    "init_param": "model.pt",
                    "config": "config.yaml",
                    "tokenizer_conf": {"bpemodel": BPE_NAME},
                    "frontend_conf": {"cmvn_file": "am.mvn"},
                },
            }
        )
    )
    shift, scale = " ".join(["-10.0"] * FEATURE_DIM), " ".join(["0.3"] * FEATURE_DIM)
    (model_dir / "am.mvn").write_text(
        f"<Nnet>\n<Splice> {FEATURE_DIM} {FEATURE_DIM}\n[ 0 ]\n<AddShift> {FEATURE_DIM} {FEATURE_DIM}\n"
        f"<LearnRateCoef> 0 [ {shift} ]\n<Rescale> {FEATURE_DIM} {FEATURE_DIM}\n"
        f"<LearnRateCoef> 0 [ {scale} ]\n</Nnet>\n"
    )

    torch.manual_seed(seed)
    model = SenseVoiceSmall(
        encoder="SenseVoiceEncoderSmall",
        encoder_conf=encoder_conf,
        input_size=FEATURE_DIM,
        vocab_size=sp.get_piece_size(),
        **model_conf,
    )
    if favour is not None:
        with torch.no_grad():
            model.ctc.ctc_lo.weight.mul_(0.01)
            model.ctc.ctc_lo.bias.zero_()
            for piece, bias in favour.items():
                assert sp.piece_to_id(piece) != sp.unk_id(), f"{piece!r} is not in the tiny vocabulary"
                model.ctc.ctc_lo.bias[sp.piece_to_id(piece)] = bias
    torch.save(model.state_dict(), model_dir / "model.pt")
    return model_dir
