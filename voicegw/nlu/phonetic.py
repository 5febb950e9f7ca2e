"""A small sound key for English words, so ASR sound-alikes meet their menu alias.

A simplified Metaphone: spelling digraphs become one sound (ph -> f, ck -> k, sh/ch -> X, th -> 0), soft c/g
follow their vowel, vowels after the first letter are dropped, and the slips Whisper makes on
clean speech are folded: voicing (b/p, d/t, g/k, v/f, z/s) and the nasals (m/n), so
skin ~ skim, light rose ~ light roast, garage ~ large. Non-ASCII text (Korean) has no key.
"""

from __future__ import annotations

_DIGRAPHS = (("tch", "X"), ("sch", "sk"), ("ph", "f"), ("ck", "k"), ("sh", "X"), ("ch", "X"),
             ("th", "0"), ("wh", "w"), ("dg", "j"), ("gh", ""))
_INITIAL = (("kn", "n"), ("wr", "r"), ("gn", "n"), ("ps", "s"))
_FOLD = {"b": "p", "d": "t", "v": "f", "z": "s", "m": "n", "q": "k"}
_VOWELS = frozenset("aeiou")
_SOFTENERS = frozenset("eiy")


def sound_key(text: str) -> str:
    """'skim' -> 'skn', 'large' -> 'lrj', 'light roast' -> 'ltrst'; '' for non-ASCII text."""
    word = "".join(ch for ch in text.lower() if "a" <= ch <= "z")
    if not word or not text.isascii():
        return ""
    for old, new in _INITIAL:
        if word.startswith(old):
            word = new + word[len(old):]
    for old, new in _DIGRAPHS:
        word = word.replace(old, new)
    out: list[str] = []
    for i, ch in enumerate(word):
        after = word[i + 1] if i + 1 < len(word) else ""
        if ch in _VOWELS:
            sound = "a" if i == 0 else ""
        elif ch in "wy":
            sound = ch if after in _VOWELS else ""  # a glide only before a vowel (grey -> kr)
        elif ch == "h":
            sound = "h" if i == 0 and after in _VOWELS else ""
        elif ch == "c":
            sound = "s" if after in _SOFTENERS else "k"
        elif ch == "g":
            sound = "j" if after in _SOFTENERS else "k"
        elif ch == "x" and i > 0:
            sound = "ks"
        else:
            sound = _FOLD.get(ch, ch)
        if sound and not (out and out[-1] == sound):
            out.append(sound)
    return "".join(out)


def cluster_reduced(key: str) -> str:
    """The key without an initial s before a consonant ('skn' -> 'kn'), else ''. Whisper drops
    that s after a word ending in a fricative or stop ("with skim" -> "with kim", "whipped, kim")."""
    if len(key) > 2 and key[0] == "s" and key[1] not in "ah":
        return key[1:]
    return ""


def rhyme(key: str) -> str:
    """The key after its first consonant ('lrj' -> 'rj'): what survives a misheard onset."""
    return key[1:] if key[:1] != "a" else key
