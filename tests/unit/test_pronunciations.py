"""Pronunciations from espeak-ng for words the aligner's dictionary lacks."""

import pytest
from pocketsphinx import Decoder

from server.inference.pronunciations import arpabet


def test_espeak_agrees_with_cmudict_where_both_know_the_word() -> None:
    cmudict = Decoder(samprate=16000, lm=None, loglevel="FATAL")
    for word in ("museum", "avatar", "nineteen", "shelf", "yellow", "brother", "harbor"):
        assert arpabet(word) == cmudict.lookup_word(word).replace("0", "").replace("1", "").replace("2", ""), word


def test_numbers_and_unknown_words_are_pronounced() -> None:
    assert arpabet("12") == "T W EH L V"
    assert arpabet("vtubers") == "V IY T UW B ER Z"
    assert arpabet("zyxoid").startswith("Z")
    with pytest.raises(ValueError):
        arpabet("...")
