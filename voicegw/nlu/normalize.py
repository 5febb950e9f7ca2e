"""Transcript -> tokens: spacing, case, punctuation, fillers, politeness, particles and numbers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from rapidfuzz.distance import Levenshtein

from voicegw.nlu.lexicon import AMOUNT_WORDS, LanguageRules, rules_for
from voicegw.nlu.matcher import to_jamo
from voicegw.nlu.numerals import parse_number, split_counter

TokenKind = Literal["word", "number", "counter", "boundary"]

_SEPARATORS = re.compile(r"(?:[,;!?~…·]|\.(?!\d))+")
"""Pauses and sentence ends; a dot before a digit is a decimal point (1.25리터)."""
_PUNCTUATION = re.compile(r"[\"“”()\[\]{}<>/\\|:*#@^_=+`%$&\-–—]+")
_APOSTROPHES = re.compile(r"['’‘`]")
_SPACES = re.compile(r"\s+")
_AMOUNT_WORDS = frozenset(word for words in AMOUNT_WORDS.values() for word in words)


@dataclass(frozen=True)
class Token:
    """One word of the normalised utterance."""

    text: str
    """The form matched against the menu: lower case, particles and endings cut, numbers as digits."""
    surface: str
    """The word as it was said (lower case), for the line's origin."""
    kind: TokenKind = "word"
    value: int | None = None
    """The quantity of a ``number`` token."""
    particle: str = ""
    """The Korean particle that was cut from this word, if any (로, 랑)."""
    after_stopword: bool = False
    """A stopword (a, the, my) was dropped right before this word: 'for the latte' is not 4 lattes."""


@dataclass(frozen=True)
class Normalized:
    """What the parser reads: tokens, plus cues the cleaning removed."""

    text: str
    tokens: tuple[Token, ...]
    request: bool = False
    """A politeness or request phrase was removed (주세요, can i get): it sounded like an order."""
    question: bool = False
    """The transcript carried a question mark or opened like a question (is, does)."""
    request_words: int = 0
    """How many words the removed request phrases had (can i get = 3): words the grammar explains."""
    opens_question: bool = False
    """The utterance starts like a question (is, does, do you): asking, not ordering, unless a
    request phrase says otherwise."""
    make_it: bool = False
    """The request asked for something to be made a way (해 주세요, make it): with an item already
    ordered, that is a change of it."""
    cleaned: str = ""
    """The utterance as said, only cleaned (case, punctuation, spacing, spellings)."""


def clean(text: str) -> str:
    """Case, apostrophes, punctuation and spacing only; separators become ' , '."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _APOSTROPHES.sub("", text)
    text = _SEPARATORS.sub(" , ", text)
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def normalize(text: str, language: str, keep: frozenset[str] = frozenset(),
              shorthands: Mapping[str, str] | None = None) -> Normalized:
    """Normalise ``text`` in ``language``; words in ``keep`` (menu words) are never cut, and a
    menu's ``shorthands`` (아아) become the words they stand for."""
    rules = rules_for(language)
    cleaned = _join_names(_respell(clean(text), rules), keep)
    make_it = any(f" {phrase} " in f" {cleaned} " for phrase in rules.make_it_phrases)
    without_polite, request_words = _remove_polite(cleaned, rules)
    request = request_words > 0
    said = without_polite.split()
    stems = [_strip_word(word, rules, keep)[1] for word in said]  # 하나요 is a quantity too
    stripped = [piece for i, word in enumerate(said)
                for piece in _pieces(word, rules, keep, shorthands or {},
                                     before_quantity=_is_quantity(stems[i + 1:i + 3], rules))]
    request = request or any(polite for *_, polite in stripped)
    words = [(surface, stem, particle) for surface, stem, particle, _ in stripped]
    tokens = _tidy_boundaries(_distribute(_take_back(_merge_units(_classify(words, rules), rules), rules), rules))
    tokens = [replace(t, surface=t.surface.replace(JOINER, " ")) if JOINER in t.surface else t for t in tokens]
    shown = " ".join("," if t.kind == "boundary" else t.text for t in tokens)
    opens_question = cleaned.split(" ", 1)[0] in rules.question_openers
    question = "?" in text or opens_question
    return Normalized(text=shown, tokens=tuple(tokens), request=request, question=question,
                      request_words=request_words, opens_question=opens_question, make_it=make_it, cleaned=cleaned)


def _remove_polite(text: str, rules: LanguageRules) -> tuple[str, int]:
    """``text`` without its request phrases, and how many words those phrases had. A softening
    word may sit inside a phrase (could I also have, can I please get)."""
    removed = 0
    padded = f" {text} "
    inserts = "|".join(map(re.escape, sorted(rules.polite_inserts)))
    for phrase in sorted(rules.polite_phrases, key=len, reverse=True):
        words = clean(phrase).split()
        gap = rf"(?: (?:{inserts}))? " if inserts else " "
        needle = re.compile(" " + gap.join(map(re.escape, words)) + " ")
        while (found := needle.search(padded)) is not None:
            padded = padded[: found.start()] + " " + padded[found.end():]
            removed += len(found.group().split())
    return padded.strip(), removed


JOINER = "_"
"""Joins the words of a menu name that holds a boundary word (black_and_white): clean() removes it
from what was said, so only _join_names writes it."""


def _join_names(text: str, keep: frozenset[str]) -> str:
    """Runs of words of menu names (``keep`` entries with spaces: "black and white", "그냥 우유")
    become one word, so "and" inside a name does not start a new line and a filler that begins
    a name is not dropped. The last word may carry a particle or plural (그냥 우유로, black and whites)."""
    for run in sorted((entry for entry in keep if " " in entry), key=lambda e: (-len(e), e)):  # longest first, reproducibly
        if run in text:
            text = re.sub(rf"(?<!\S){re.escape(run)}", run.replace(" ", JOINER), text)
    return text


def _respell(text: str, rules: LanguageRules) -> str:
    for variant, spelling in rules.spellings:
        text = text.replace(variant, spelling)
    return text


def _pieces(word: str, rules: LanguageRules, keep: frozenset[str], shorthands: Mapping[str, str],
            before_quantity: bool) -> list[tuple[str, str, str, bool]]:
    """One spoken word as (surface, stem, particle, polite) pieces: usually one; several when it is
    the menu's shorthand for several menu words (아아) or menu words and a quantity run together by
    the recogniser (아이스아메리카노두잔 -> 아이스 아메리카노 두잔)."""
    word = dict(rules.contractions).get(word, word)
    surface, stem, particle, polite = _strip_word(word, rules, keep)
    parts = shorthands.get(stem, "").split() or _split_run(stem, rules, keep, before_quantity)
    if not parts:
        return [(surface, stem, particle, polite)]
    pieces = [_strip_word(part, rules, keep) for part in parts]
    last_surface, last_stem, last_particle, last_polite = pieces[-1]
    pieces[-1] = (last_surface, last_stem, particle or last_particle, last_polite or polite)
    return pieces


MIN_RUN_CHARS = 6
"""A run-together word this long is split into menu words even without a quantity in it or after
it; shorter ones (아이스크림 is not 아이스 + 크림) only next to a quantity (레몬에이드 한 잔)."""


def _split_run(word: str, rules: LanguageRules, keep: frozenset[str], before_quantity: bool) -> list[str]:
    """The fewest menu words and quantities that make up ``word`` exactly, or [] when it is not
    such a run (or is a menu word itself)."""
    if word in keep or len(word) < 4 or not _hangul(word) or _near_menu_word(word, keep):
        return []
    short = _short_stems(rules, keep)
    best: dict[int, list[str]] = {0: []}  # end -> fewest pieces covering word[:end]
    for end in range(1, len(word) + 1):
        found = [best[start] + [word[start:end]] for start in range(end)
                 if start in best and _known_piece(word[start:end], rules, keep, short)]
        if found:
            best[end] = min(found, key=len)
    parts = best.get(len(word), [])
    quantity = any(_is_quantity([part], rules) for part in parts)
    if len(parts) < 2 or not (quantity or before_quantity or len(word) >= MIN_RUN_CHARS):
        return []
    return parts


def _near_menu_word(word: str, keep: frozenset[str]) -> bool:
    """One jamo away from a menu word (녹차라테 ~ 녹차라떼): a slip of that word, not a run of
    others (녹차 + 라테)."""
    jamo = to_jamo(word)
    return any(abs(len(k) - len(word)) <= 1 and Levenshtein.distance(jamo, to_jamo(k), score_cutoff=1) <= 1
               for k in keep)


def _known_piece(piece: str, rules: LanguageRules, keep: frozenset[str], short: frozenset[str]) -> bool:
    """A menu word (two syllables at least) or a quantity, with or without a particle."""
    stem, _ = _cut(piece, rules.particles, rules.min_stem_chars, keep, short)
    return any((len(text) >= 2 and text in keep) or _is_quantity([text], rules) for text in {piece, stem})


def _is_quantity(words: list[str], rules: LanguageRules) -> bool:
    """``words`` start with a number, with or without a counter (두잔, 2개, 한 잔, 하나, 둘)."""
    if not words:
        return False
    word = words[0]
    split = split_counter(word, rules.counters)
    if split is not None and parse_number(split[0], rules.language, before_counter=True) is not None:
        return True
    before_counter = len(words) > 1 and words[1] in rules.counters
    return parse_number(word, rules.language, before_counter=before_counter) is not None


def _hangul(word: str) -> bool:
    return any("가" <= ch <= "힣" for ch in word) and all("가" <= ch <= "힣" or ch.isdigit() for ch in word)


def _short_stems(rules: LanguageRules, keep: frozenset[str]) -> frozenset[str]:
    """Stems shorter than ``min_stem_chars`` that still take endings and particles: counters
    (잔하고, 개요), number words (둘이요, 셋이랑), one-syllable menu words (샷도), function nouns
    (거로) and amount words (더요)."""
    return rules.counters | rules.number_words | keep | rules.function_words | _AMOUNT_WORDS


def _strip_word(word: str, rules: LanguageRules, keep: frozenset[str]) -> tuple[str, str, str, bool]:
    """(surface, stem, particle, polite): one polite ending, then one particle, cut off the end."""
    if word in keep or word == ",":
        return word, word, "", False
    short = _short_stems(rules, keep)
    stem, ending = _cut(word, rules.polite_endings, rules.min_stem_chars, keep, short)
    stem, particle = _cut(stem, rules.particles, rules.min_stem_chars, keep, short)
    return word, stem, particle, bool(ending)


def _cut(word: str, suffixes: tuple[str, ...], min_stem: int, keep: frozenset[str],
         short_stems: frozenset[str] = frozenset()) -> tuple[str, str]:
    if word in keep:
        return word, ""
    for suffix in suffixes:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and (len(stem) >= min_stem or stem in short_stems):
            return stem, suffix
    return word, ""


def _classify(words: list[tuple[str, str, str]], rules: LanguageRules) -> list[Token]:
    tokens: list[Token] = []
    dropped = False
    for index, (surface, stem, particle) in enumerate(words):
        if stem == "," or stem in rules.boundary_words:
            tokens.append(Token(",", surface, "boundary"))
            dropped = False
            continue
        if stem in rules.fillers or stem in rules.stopwords:
            dropped = dropped or stem in rules.stopwords
            continue
        next_stem = words[index + 1][1] if index + 1 < len(words) else ""
        said = _number_tokens(surface, stem, particle, next_stem in rules.counters, rules)
        if dropped:
            said[0] = replace(said[0], after_stopword=True)
        dropped = False
        tokens.extend(said)
        if particle in rules.conjunction_particles:
            tokens.append(Token(",", particle, "boundary"))
    return tokens


_TIMES = re.compile(r"^(?:[x×](\d+)|(\d+)[x×])$")
"""Written multiplication, in any language: fries x2, 2x 콜라."""


def _number_tokens(surface: str, stem: str, particle: str, before_counter: bool,
                   rules: LanguageRules) -> list[Token]:
    if times := _TIMES.match(stem):
        value = int(times.group(1) or times.group(2))
        return [Token(str(value), surface, "number", value, particle)]
    if stem in rules.counters:
        return [Token(stem, surface, "counter", particle=particle)]
    split = split_counter(stem, rules.counters)
    if split is not None:
        value = parse_number(split[0], rules.language, before_counter=True)
        if value is not None:
            return [Token(str(value), surface, "number", value),
                    Token(split[1], surface, "counter", particle=particle)]
    value = parse_number(stem, rules.language, before_counter)
    if value is not None:
        return [Token(str(value), surface, "number", value, particle)]
    return [Token(stem, surface, particle=particle)]


def _take_back(tokens: list[Token], rules: LanguageRules) -> list[Token]:
    """A repair word between two quantities drops the first: 라떼 한 잔, 아니 두 잔 -> 라떼 2 잔."""
    out: list[Token] = []
    for i, token in enumerate(tokens):
        if token.kind == "word" and token.text in rules.repair_words and tokens[i + 1:i + 2] \
                and tokens[i + 1].kind == "number":
            start = len(out) - (1 if out and out[-1].kind == "boundary" else 0)
            start -= 1 if start > 0 and out[start - 1].kind == "counter" else 0
            if start > 0 and out[start - 1].kind == "number":
                del out[start - 1:]
                continue
        out.append(token)
    return out


def _distribute(tokens: list[Token], rules: LanguageRules) -> list[Token]:
    """크루아상 , 베이글 2 개(씩) -> 크루아상 2 개 , 베이글 2 개: each item listed before a
    distributive quantity, back to one that has a quantity of its own, gets it too."""
    out = list(tokens)
    for k in range(len(out) - 1, 0, -1):
        counter, number = out[k], out[k - 1]
        if counter.kind != "counter" or counter.particle not in rules.distributive_particles or number.kind != "number":
            continue
        end = k - 1
        while end > 0 and out[end - 1].kind != "boundary":
            end -= 1  # the start of the distributive quantity's own chunk
        while end > 0:
            start = end - 1
            while start > 0 and out[start - 1].kind != "boundary":
                start -= 1
            if start == end - 1 or any(t.kind == "number" for t in out[start:end - 1]):
                break
            out[end - 1:end - 1] = [replace(number, particle=""), replace(counter, particle="")]
            end = start
    return out


def _tidy_boundaries(tokens: list[Token]) -> list[Token]:
    """No boundary first, last, or twice in a row."""
    tidy: list[Token] = []
    for token in tokens:
        if token.kind == "boundary" and (not tidy or tidy[-1].kind == "boundary"):
            continue
        tidy.append(token)
    while tidy and tidy[-1].kind == "boundary":
        tidy.pop()
    return tidy


def _merge_units(tokens: list[Token], rules: LanguageRules) -> list[Token]:
    """'12 ounce' and '12-oz' become the one word '12oz', a size rather than a quantity."""
    merged: list[Token] = []
    for token in tokens:
        previous = merged[-1] if merged else None
        if token.text in rules.ounce_words and previous is not None and previous.kind == "number":
            merged[-1] = Token(f"{previous.text}oz", f"{previous.surface} {token.surface}")
            continue
        merged.append(token)
    return merged
