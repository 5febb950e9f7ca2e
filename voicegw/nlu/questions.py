"""Questions never act. "How do I cancel my order?", "순살로 바꾸면 추가 요금 있나요?", "does the
wrap come with onions?" ask; they do not ask for anything to be done. Such an utterance becomes
a ``faq`` turn: the FAQ answers it when an entry matches, the menu when it asks a price or what
comes in an item, and the action it names travels as an ``Offer`` the dialogue makes and does
only on the customer's yes. Pure functions of a parser ``Reading``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicegw.nlu.faq_concepts import FORMS
from voicegw.nlu.lines import build_line, segment_item
from voicegw.nlu.types import Asked, Asks, Intent, IntentName, LineOption, Offer, Understanding

if TYPE_CHECKING:
    from voicegw.nlu.parser import Reading

ACTIONS = frozenset({IntentName.ORDER_ADD, IntentName.ORDER_REMOVE, IntentName.ORDER_CHANGE,
                     IntentName.ORDER_CANCEL, IntentName.ORDER_CONFIRM})
"""What a turn can do to the cart or the order, and so what a question may only offer."""
OFFERED = ACTIONS - {IntentName.ORDER_CONFIRM}
ACTION_PHRASES = ("cancel", "remove", "change", "confirm")
QUESTION_CONFIDENCE = 0.9


def asks(r: Reading) -> bool:
    """The words ask rather than request (how, 어떻게; is there, 되나요, 있어요). A question mark
    alone asks only about what questions are about: a price, what comes in an item, or an action
    (speech recognition writes "a large latte?" for an order, and 사이다도 하나요 orders one).
    Asking to be allowed to do something concrete is a request ("can I swap the muffin for a
    scone", "콜라로 바꿀 수 있나요"), unless it asks a price or what comes in an item."""
    asking = r.form == "ask" or (r.form == "yes_no" and not _polite_request(r))
    if asking or _about_an_item(r):
        return True
    return (r.form != "command" and r.normalized.question and not _polite_request(r)
            and (menu_question(r) is not None or any(map(r.phrases.has, ACTION_PHRASES))))


def _about_an_item(r: Reading) -> bool:
    """Words about what is in an item or what it costs, said with no request, number or question
    form ("it's the muffin, hot, free": "is the muffin nut free" heard through noise): an order
    says what it wants, not what the item is."""
    return (r.form == "plain" and not r.normalized.request and not r.phrases.has("change")
            and bool(CONTENT_DETAILS & r.unnamed_terms) and not any(s.kind in ("number", "counter") for s in r.spans))


def _polite_request(r: Reading) -> bool:
    if menu_question(r) is not None or not (r.segments or r.options or r.sets_quantity):
        return False
    said = f" {r.normalized.cleaned} "
    return any(f" {phrase} " in said or (not phrase.isascii() and phrase in said)
               for cues in FORMS.values() for phrase in cues.ability)


#: Terms about what is in an item or what it costs.
CONTENT_DETAILS = frozenset({"detail:contains", "detail:fee"})


def menu_question(r: Reading) -> Asks | None:
    """What a question about menu items asks: their price, or what comes in them."""
    if "detail:fee" in r.terms:
        return "price"
    if {"detail:contains", "topic:allergen"} & r.terms or r.describes_an_item:
        return "contents"
    return None


def offer_of(acting: Understanding) -> Offer | None:
    """The action a question names, if it is one the bot would do as asked. Placing the order is
    never offered: "주문 바꾸려면 어떻게 해요?" names the order, not the wish to send it."""
    if acting.intent.name not in OFFERED or acting.reason is not None:
        return None
    return Offer(intent=acting.intent.name, **{name: getattr(acting, name) for name in Offer.model_fields if name != "intent"})


def question(r: Reading, acting: Understanding) -> Understanding | None:
    """The ``faq`` turn for a question whose words, said as a request, would be ``acting``; None
    when it asks about nothing the bot does or the menu can tell (greetings, status, talk)."""
    kind = menu_question(r)
    asked = _asked(r) if kind is not None else None
    if asked is not None and not (asked.lines or asked.options):
        kind = asked = None
    offer = offer_of(acting)
    if kind == "contents" and offer is not None and offer.intent is IntentName.ORDER_ADD:
        offer = None  # "is there egg in the tteokbokki?" asks about it, it does not want one
    if offer is None and kind == "price" and asked is not None and acting.reason is None:  # not a sold-out item
        offer = _priced_offer(r, asked)
    if offer is None and asked is None and acting.intent.name not in ACTIONS:
        return None  # a question the words would not act on: answered as they are (status, talk)
    # as sure as the words are explained: "is the muffin hot-free?" is a poorer reading than the FAQ "nut free"
    confidence = round(QUESTION_CONFIDENCE * r.coverage, 3)
    return Understanding(intent=Intent(name=IntentName.FAQ, confidence=confidence), offer=offer, asks=kind, asked=asked)


def _asked(r: Reading) -> Asked:
    """The items named, each with only the options said with it, and options said alone; a group
    named alone ("does toasting cost extra?") stands for its values other than the default."""
    lines = tuple(build_line(seg, segment_item(seg, r.ctx), r.ctx, with_defaults=False) for seg in r.segments)
    options = r.options
    if not lines and not options:
        menu, owned = r.ctx.menu, {id(s) for seg in r.segments for s in seg.spans}
        options = tuple(LineOption(group=group, value=value.id)
                        for span in r.spans if span.kind == "group" and id(span) not in owned
                        for group in sorted(span.option_groups)
                        for value in menu.group(group).values if value.id != menu.group(group).default)
    return Asked(lines=lines, options=options)


def _priced_offer(r: Reading, asked: Asked) -> Offer:
    """Asking what something costs offers it: the items named, or the options on the line that takes them."""
    if asked.lines:
        lines = tuple(build_line(seg, segment_item(seg, r.ctx), r.ctx) for seg in r.segments)
        return Offer(intent=IntentName.ORDER_ADD, lines=lines)
    return Offer(intent=IntentName.ORDER_CHANGE, options=asked.options)
