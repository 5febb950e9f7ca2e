"""What the reference skill server stores: FAQ entries and submitted orders, as plain records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicegw.backend.skill import Channel
from voicegw.nlu.types import OrderLine


@dataclass(frozen=True)
class FaqEntry:
    id: str
    category: str = ""
    questions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Phrasings per language (ko, en)."""
    answers: dict[str, str] = field(default_factory=dict)
    """The answer per language."""

    def answer(self, language: str) -> str:
        """The answer in ``language``, else Korean, else any."""
        for lang in (language, "ko", "en"):
            if self.answers.get(lang):
                return self.answers[lang]
        return next(iter(self.answers.values()), "")

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "questions": {k: list(v) for k, v in self.questions.items()},
            "answer": dict(self.answers),
        }

    @classmethod
    def from_public(cls, data: dict[str, Any]) -> FaqEntry:
        """From the menu's ``faq:`` shape ``{id, category, questions{lang:[..]}, answer{lang:..}}``."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise ValueError("an FAQ entry needs a string 'id'")
        questions = data.get("questions") or {}
        answers = data.get("answer", data.get("answers")) or {}
        if not isinstance(questions, dict) or not isinstance(answers, dict):
            raise ValueError(f"FAQ {data['id']}: 'questions' and 'answer' must be objects keyed by language")
        # Checked, not coerced: str() would store 5 as "5", null as "None" and "abc" as a b c.
        for lang, phrasings in questions.items():
            if not isinstance(phrasings, list) or not all(isinstance(q, str) for q in phrasings):
                raise ValueError(f"FAQ {data['id']}: questions[{lang!r}] must be a list of strings")
        for lang, answer in answers.items():
            if not isinstance(answer, str):
                raise ValueError(f"FAQ {data['id']}: answer[{lang!r}] must be a string")
        return cls(
            id=data["id"],
            category=str(data.get("category") or ""),
            questions={str(k): tuple(v) for k, v in questions.items()},
            answers={str(k): v for k, v in answers.items()},
        )


@dataclass(frozen=True)
class StoredOrder:
    id: str
    """Short readable id (A-0001) a person can say at the counter."""
    store: str
    session: str
    channel: Channel
    lines: tuple[OrderLine, ...]
    total: int
    """Sum of unit_price x quantity, in the currency's minor-free unit (KRW, or cents)."""
    currency: str
    status: str
    created_at: str
    """ISO 8601, UTC."""
    idempotency_key: str | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store,
            "session": self.session,
            "channel": self.channel,
            "lines": [line.model_dump(mode="json", exclude={"origin", "quantity_said"}) for line in self.lines],
            "total": self.total,
            "currency": self.currency,
            "status": self.status,
            "created_at": self.created_at,
        }
