"""An understood turn as a normal Open Builder skill request, so any skill server can serve it."""

from __future__ import annotations

from voicegw.backend.skill import (
    Channel,
    DetailParam,
    SkillAction,
    SkillBlock,
    SkillBot,
    SkillIntent,
    SkillRequest,
    SkillUser,
    UserRequest,
)
from voicegw.nlu.types import IntentName, Understanding


def build_params(understanding: Understanding) -> tuple[dict[str, str], dict[str, DetailParam]]:
    """Flat ``action.params`` (item_1, quantity_1, option_1_temperature, ...) and their detailParams.

    ``origin`` is what the user said for the line; ``value`` the canonical id. Amounts other
    than ``regular`` travel as ``option_<n>_<group>_amount``.
    """
    params: dict[str, str] = {}
    detail: dict[str, DetailParam] = {}

    def put(key: str, value: str, origin: str) -> None:
        params[key] = value
        detail[key] = DetailParam(origin=origin or value, value=value, group_name="")

    for n, line in enumerate(understanding.lines, start=1):
        put(f"item_{n}", line.item_id, line.origin)
        put(f"quantity_{n}", str(line.quantity), line.origin)
        for option in line.options:
            put(f"option_{n}_{option.group}", option.value, line.origin)
            if option.amount != "regular":
                put(f"option_{n}_{option.group}_amount", option.amount, line.origin)
    if understanding.intent.name is IntentName.FAQ and understanding.candidates:
        put("faq", understanding.candidates[0], understanding.normalized_text)
    return params, detail


def build_skill_request(
    understanding: Understanding,
    *,
    store: str,
    session: str,
    language: str,
    utterance: str,
    channel: Channel,
    idempotency_key: str | None = None,
    request_digest: str | None = None,
) -> SkillRequest:
    """The skill request for one turn: utterance = transcript or typed text, user.id = session,
    bot.id = store, action.name = intent; the full understanding rides in ``clientExtra``."""
    intent = understanding.intent.name.value
    params, detail = build_params(understanding)
    return SkillRequest(
        intent=SkillIntent(id=intent, name=intent),
        user_request=UserRequest(
            params={"surface": f"voicegw.{channel}"},
            block=SkillBlock(id=intent, name=intent),
            utterance=utterance,
            lang=language,
            user=SkillUser(id=session, type="botUserKey", properties={}),
        ),
        bot=SkillBot(id=store, name=store),
        action=SkillAction(
            id=intent,
            name=intent,
            params=params,
            detail_params=detail,
            client_extra={
                "store": store,
                "session": session,
                "channel": channel,
                "language": language,
                "order": {"lines": [line.model_dump(mode="json") for line in understanding.lines]},
                "reason": understanding.reason,
                "candidates": list(understanding.candidates),
                "idempotency_key": idempotency_key,
                "request_digest": request_digest,
                "confidence": understanding.intent.confidence,
                "understanding": understanding.model_dump(mode="json"),
            },
        ),
    )
