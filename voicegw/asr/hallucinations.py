"""Known phrases Whisper invents on silence and noise, and the guard that drops them.

These come from subtitle credits in Whisper's training data; on near-silent or noisy input the
model produces them with high confidence, so a probability threshold alone does not catch them.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

KNOWN_HALLUCINATIONS: frozenset[str] = frozenset(
    {
        # Korean
        "시청해주셔서 감사합니다",
        "시청해 주셔서 감사합니다",
        "구독과 좋아요 부탁드립니다",
        "구독과 좋아요",
        "감사합니다",
        "고맙습니다",
        "mbc 뉴스 이덕영입니다",
        "다음 영상에서 만나요",
        "자막 제공 및 자막 수정",
        "한글자막 by 한효정",
        "자막 by 한효정",
        # English
        "thank you for watching",
        "thanks for watching",
        "thank you",
        "thank you very much",
        "please subscribe",
        "like and subscribe",
        "subtitles by the amara org community",
        "you",
        "bye",
        "so",
    }
)

_NON_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


def _canonical(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def is_hallucination(text: str) -> bool:
    """True when the whole text is a known silence phrase (repeated or not), or empty."""
    canonical = _canonical(text)
    if not canonical:
        return True
    if canonical in KNOWN_HALLUCINATIONS:
        return True
    # "thank you thank you" and the like: a known phrase repeated
    for phrase in KNOWN_HALLUCINATIONS:
        if len(phrase) > 3 and canonical.replace(phrase, "").strip() == "":
            return True
    return False


def bias_words(hotwords: str | None) -> frozenset[str]:
    """The words of the comma-separated hotwords, canonical, for ``bias_fraction``."""
    return frozenset(_canonical(hotwords or "").split())


def repeats_a_phrase(text: str) -> bool:
    """True when a comma- or period-separated phrase comes back ("아이스티, 아이스티, 아이스티")."""
    chunks = [_canonical(chunk) for chunk in re.split(r"[,.]", text)]
    chunks = [chunk for chunk in chunks if chunk]
    return len(set(chunks)) < len(chunks)


#: How many times in a row a menu term must come back to be an echo. A customer says "two
#: lattes", not "latte, latte, latte"; on the 495 real coffee orders no chosen reading has a run
#: of three, while espeak questions and noisy meetings came out as "계란찜, 계란찜, 계란찜, ..." and
#: "coffee, coffee, coffee, ..." (compressing less than ``LOOP_COMPRESSION_RATIO``) and were ordered.
ECHO_RUN = 3


def _has_run(items: list[str], words: frozenset[str]) -> bool:
    run = 1
    for previous, current in zip(items, items[1:]):
        run = run + 1 if current == previous else 1
        if run >= ECHO_RUN and set(current.split()) <= words:
            return True
    return False


def echoes_a_menu_term(text: str, words: frozenset[str]) -> bool:
    """True when a phrase made only of words Whisper was biased with comes ``ECHO_RUN`` times in a
    row, as comma-separated chunks ("iced latte, iced latte, iced latte") or as bare words."""
    if not words:
        return False
    chunks = [chunk for chunk in (_canonical(part) for part in re.split(r"[,.!?;]", text)) if chunk]
    return _has_run(chunks, words) or _has_run(_canonical(text).split(), words)


def bias_fraction(text: str, words: frozenset[str]) -> float:
    """The share of the text's words that are words Whisper was biased with (0 when no words).

    On noise, a biased Whisper recites its hotwords ("cream cheese, butter, cream cheese"); a
    customer's order has words of its own between the menu terms (numbers, 주세요, please).
    """
    said = _canonical(text).split()
    return sum(word in words for word in said) / len(said) if said else 0.0


#: Whisper's own limit (faster-whisper's ``compression_ratio_threshold``): text that compresses
#: more than this is a repetition loop ("coffee, coffee, coffee, ..." on a noisy meeting).
LOOP_COMPRESSION_RATIO = 2.4


def is_repetition_loop(text: str) -> bool:
    """True when zlib compresses the text more than ``LOOP_COMPRESSION_RATIO`` times."""
    data = text.strip().encode("utf-8")
    return bool(data) and len(data) / len(zlib.compress(data)) > LOOP_COMPRESSION_RATIO
