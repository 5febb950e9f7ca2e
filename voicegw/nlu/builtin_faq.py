"""The questions every store gets answered: cancelling, refunds, a change of address, delivery and
opening hours, in words true of any store (``default_faq:`` in the language packs).

A store that writes none of these in its menu still answers them; an entry of its own mostly
about the same topic (most of its questions name it) replaces the built-in one. The backend
answers a built-in id from here when its FAQ table has no such entry.
"""

from __future__ import annotations

from functools import cache

from voicegw.nlu.menu import FaqEntry
from voicegw.nlu.packs import LANGUAGES, pack

@cache
def builtin_topics() -> dict[str, str]:
    """Built-in entry id -> the concept it is about (cancel, refund, ...)."""
    return {entry.id: entry.topic for language in LANGUAGES for entry in pack(language).default_faq}


@cache
def builtin_entries() -> tuple[FaqEntry, ...]:
    """One entry per built-in id, its questions and answers from every language pack."""
    questions: dict[str, dict[str, list[str]]] = {}
    answers: dict[str, dict[str, str]] = {}
    categories: dict[str, str] = {}
    for language in LANGUAGES:
        for entry in pack(language).default_faq:
            questions.setdefault(entry.id, {})[language] = list(entry.questions)
            answers.setdefault(entry.id, {})[language] = entry.answer
            categories[entry.id] = entry.category
    return tuple(FaqEntry(id=faq_id, category=categories[faq_id], questions=questions[faq_id],  # type: ignore[arg-type]
                          answer=answers[faq_id]) for faq_id in questions)  # type: ignore[arg-type]


def builtin_answer(faq_id: str, language: str) -> str | None:
    """The built-in answer of ``faq_id`` in ``language`` (else English), None for other ids."""
    for entry in builtin_entries():
        if entry.id == faq_id:
            return entry.answer.get(language) or entry.answer.get("en")  # type: ignore[call-overload]
    return None
