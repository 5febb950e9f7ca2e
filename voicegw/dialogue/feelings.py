"""How the conversation is going: apologise to a frustrated customer and offer a person, and
offer one too when the bot keeps failing. Pure."""

from __future__ import annotations

from dataclasses import replace

from voicegw.dialogue import replies as R
from voicegw.dialogue.outcome import TurnOutcome
from voicegw.dialogue.replies import Reply
from voicegw.dialogue.state import DialogueState
from voicegw.nlu.types import Understanding

FAILURES_BEFORE_OFFER = 2
"""Failed turns in a row after which every reply offers a person."""
MAX_QUICK_REPLIES = 10  # Open Builder's limit


def settle(outcome: TurnOutcome, u: Understanding, state: DialogueState, language: str) -> TurnOutcome:
    """Count the failure streak and colour the reply by how the customer feels."""
    current = outcome.state or state
    failures = current.failures + 1 if outcome.failed else 0
    reply = outcome.reply
    if outcome.reason == "frustrated":
        reply = Reply(R.text("frustrated", language), R.quick_replies("frustrated", language))
        current = current.offering_staff()
    elif u.sentiment == "frustrated":
        reply = Reply(f"{R.text('empathy', language)} {reply.text}", with_staff(reply.quick_replies, language))
    elif outcome.failed and failures >= FAILURES_BEFORE_OFFER:
        reply = Reply(f"{reply.text} {R.text('offer_staff', language)}", with_staff(reply.quick_replies, language))
    return replace(outcome, reply=reply, state=current.model_copy(update={"failures": failures}))


def with_staff(quick_replies: tuple[str, ...], language: str) -> tuple[str, ...]:
    staff = R.quick_replies("staff", language)
    kept = tuple(q for q in quick_replies if q not in staff)[: MAX_QUICK_REPLIES - len(staff)]
    return (*kept, *staff)
