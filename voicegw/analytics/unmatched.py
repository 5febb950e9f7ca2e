"""What customers said that nothing understood or answered, grouped by topic (pure).

Utterances become TF-IDF vectors of character n-grams within their content words. The content
words are what the FAQ matcher reads (nlu/faq_terms.py: the language pack's function words,
request and question endings left out, concepts named), so "can I ..." and "...되나요" do not
pull unrelated questions together. Character n-grams need no tokenizer: a word's stem and its
particles share n-grams (주차/주차장/주차는), and misspellings keep most of theirs. Average-linkage agglomerative clustering on
cosine distance then joins utterances closer than ``MAX_DISTANCE``; groups of one are left
ungrouped. Each group is named by its most central utterance and gets a suggested action:

- ``add_faq``: customers ask something (the language pack's question forms, or the FAQ was
  searched and had no answer);
- ``add_alias``: they name an item the menu does not know by that word (the parser found no
  item; the words are close to an item's name);
- ``review``: neither; someone should read them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from voicegw.nlu.faq_terms import form_of, terms_of
from voicegw.nlu.menu import Menu
from voicegw.nlu.normalize import normalize

UNMATCHED_REASONS = frozenset({"not_understood", "unknown_item", "faq_not_found"})
MAX_DISTANCE = 0.8
"""Cosine distance (1 - similarity) below which average linkage joins two groups."""
MAX_UTTERANCES = 3000
"""The newest this many are grouped: clustering is quadratic in memory."""
EXAMPLES = 5
ALIAS_SCORE = 70.0
_PLACEHOLDER = re.compile(r"<[a-z_]+>|\[[^\]]*\]")  # what redaction left: <phone> (privacy/redact.py), [전화번호]
_NOT_WORD = re.compile(r"[^\w\s]+")


@dataclass(frozen=True)
class Utterance:
    text: str
    language: str
    reason: str | None


@dataclass(frozen=True)
class Group:
    members: tuple[Utterance, ...]
    label: str
    """The most central member's text."""
    suggestion: dict[str, str | None]

    def to_json(self) -> dict[str, object]:
        languages = Counter(u.language for u in self.members)
        return {
            "size": len(self.members), "label": self.label, "languages": dict(languages.most_common()),
            "examples": _examples(self.members, self.label), "suggestion": self.suggestion,
        }


def is_unmatched(status: str, reason: str | None, transcript: str) -> bool:
    return status == "not_understood" and reason in UNMATCHED_REASONS and bool(clean(transcript))


def clean(text: str) -> str:
    """Lower case, no placeholders or punctuation, single spaces."""
    text = _PLACEHOLDER.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(_NOT_WORD.sub(" ", text).split())


def content_words(u: Utterance) -> str:
    """The words that say what the utterance is about; all of it when none are left."""
    terms = terms_of(normalize(u.text, u.language).tokens, u.language, frozenset())
    return " ".join(sorted(t.split(":", 1)[1] for t in terms)) or clean(u.text)


def group_utterances(utterances: Sequence[Utterance], menus: Mapping[str, Menu] | None = None,
                     store: str | None = None) -> list[Group]:
    """Groups of two or more, largest first; ``menus[store]`` names items for alias suggestions."""
    utterances = [u for u in utterances if clean(u.text)][-MAX_UTTERANCES:]
    if len(utterances) < 2:
        return []
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit_transform(
        [content_words(u) for u in utterances]
    )
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=MAX_DISTANCE, metric="cosine", linkage="average"
    ).fit_predict(vectors.toarray())
    menu = (menus or {}).get(store) if store else None
    groups = []
    for label in set(labels):
        index = np.flatnonzero(labels == label)
        if len(index) < 2:
            continue
        members = tuple(utterances[i] for i in index)
        central = members[_central(vectors[index])]
        groups.append(Group(members, central.text, suggest(members, central, menu)))
    return sorted(groups, key=lambda g: (-len(g.members), g.label))


def _central(vectors) -> int:
    """The member most similar to the others (rows are L2-normalised: dot = cosine)."""
    similarity = (vectors @ vectors.T).toarray()
    return int(similarity.sum(axis=1).argmax())


def suggest(members: Sequence[Utterance], central: Utterance, menu: Menu | None) -> dict[str, str | None]:
    reasons = Counter(u.reason for u in members)
    asking = sum(u.reason == "faq_not_found" or _asks(u) for u in members)
    if asking * 2 > len(members):
        return {"action": "add_faq", "item": None, "text": f"Add an FAQ entry that answers: {central.text}"}
    if menu is not None and reasons["unknown_item"] * 2 > len(members):
        item = _closest_item(members, menu)
        if item is not None:
            word = _common_word(members)
            return {"action": "add_alias", "item": item[0],
                    "text": f"Customers may mean {item[1]}: add {word!r} to its aliases if so"}
    return {"action": "review", "item": None, "text": "Read these: the bot understood none of them"}


def _asks(u: Utterance) -> bool:
    return u.text.rstrip().endswith("?") or form_of(normalize(u.text, u.language)) in ("ask", "yes_no")


def _closest_item(members: Sequence[Utterance], menu: Menu) -> tuple[str, str] | None:
    """(item id, name) whose name (in any language) is closest to what the members said."""
    names = {f"{item.id}\x00{aliases[0]}\x00{alias}": alias
             for item in menu.items for aliases in item.names.values() for alias in aliases}
    scores: Counter[str] = Counter()
    for u in members:
        hit = process.extractOne(clean(u.text), names, scorer=fuzz.partial_ratio, score_cutoff=ALIAS_SCORE)
        if hit is not None:
            scores[hit[2]] += 1
    if not scores:
        return None
    item_id, name, _ = scores.most_common(1)[0][0].split("\x00", 2)
    return item_id, name


def _common_word(members: Sequence[Utterance]) -> str:
    words = Counter(w for u in members for w in set(clean(u.text).split()) if len(w) > 1)
    return words.most_common(1)[0][0] if words else clean(members[0].text)


def _examples(members: Sequence[Utterance], label: str) -> list[str]:
    seen = [label]
    for u in members:
        if u.text not in seen and len(seen) < EXAMPLES:
            seen.append(u.text)
    return seen
