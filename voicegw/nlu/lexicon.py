"""Per-language word lists the normaliser and parser use: data, not branches."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageRules:
    """How one language marks fillers, politeness, particles, counters and conjunctions."""

    language: str
    fillers: frozenset[str]
    """Whole words dropped before matching (음, 어, uh, um)."""
    stopwords: frozenset[str]
    """Function words dropped before matching (a, the, of); also dropped from aliases."""
    polite_phrases: tuple[str, ...]
    """Multi-word request phrases removed (해 주세요, can i get); their presence marks a request."""
    polite_endings: tuple[str, ...]
    """Verb endings cut from the end of a word (결제할게요 -> 결제), longest first."""
    particles: tuple[str, ...]
    """Noun particles cut from the end of a word (라떼는 -> 라떼), longest first."""
    conjunction_particles: frozenset[str]
    """Particles that also end an order line (콜라랑, 라떼하고)."""
    boundary_words: frozenset[str]
    """Words that separate order lines (and, 그리고)."""
    counters: frozenset[str]
    """Counter words after a number (잔, 개, 세트)."""
    set_counters: frozenset[str]
    """Counters that turn a single item into its set (두 세트, two combos)."""
    ounce_words: frozenset[str] = frozenset()
    """Unit words merged with the number before them (12 ounce -> 12oz)."""
    number_homophones: tuple[tuple[str, int], ...] = ()
    """ASR slips that stand for a number in quantity position only: first in a clause and right
    before an item, size or temperature word (to lattes -> 2, free croissants -> 3; slots.py)."""
    slips: tuple[tuple[str, str], ...] = ()
    """Words Whisper writes for a menu word across a word break ("a nice latte" for "an iced
    latte", "oatmeal" for "oat milk"), read as that word only where it fills an option slot of the
    item in its clause (slots.py)."""
    attach_back_particles: frozenset[str] = frozenset()
    """A particle that ties an option to the item before it (아메리카노 아이스로)."""
    attach_back_words: frozenset[str] = frozenset()
    """A word that ties the options after it to the item before it (latte with oat milk)."""
    replaced_after: frozenset[str] = frozenset()
    """Words after an option that cancel it (콜라 대신 사이다)."""
    replaced_before: frozenset[str] = frozenset()
    """Words before an option that cancel it (instead of coke)."""
    function_words: frozenset[str] = frozenset()
    """Words that carry no content (you, what, can, is): neither evidence for an order nor against
    it, so the parser's coverage (coverage.py) leaves them out. Kept in the tokens, unlike stopwords."""
    spellings: tuple[tuple[str, str], ...] = ()
    """Spelling variants rewritten inside words before anything else (셋트 -> 세트, 주세여 -> 주세요)."""
    contractions: tuple[tuple[str, str], ...] = ()
    """Whole words that are a noun and a particle run together (걸로 -> 거로: 큰 걸로 = 큰 거로)."""
    expansions: tuple[tuple[str, str], ...] = ()
    """Whole words that stand for several menu words (아아 -> 아이스 아메리카노): ordering slang."""
    repair_words: frozenset[str] = frozenset()
    """A word between two quantities that takes the first one back (한 잔, 아니 두 잔 -> 두 잔)."""
    distributive_particles: frozenset[str] = frozenset()
    """A particle on a counter that gives its quantity to each item listed before it too
    (크루아상이랑 베이글 두 개씩 -> two of each)."""
    question_openers: frozenset[str] = frozenset()
    """First words that make an utterance a question without a question mark (is delivery available)."""
    subject_verbs: frozenset[str] = frozenset()
    """Verbs that make the item before them the subject of a statement ("the muffin has nuts"):
    said about the item, not ordering it."""
    demonstratives: frozenset[str] = frozenset()
    """Words that point at an item ("this muffin ..."): without a request phrase, a remark about
    it; with one ("I'll have this muffin") an order as usual."""
    quantity_follows_item: bool = True
    """Korean says the quantity after the item (라떼 두 잔); English before (two lattes)."""
    make_it_phrases: tuple[str, ...] = ()
    """Request phrases that ask for an item to be made a way (로 해 주세요), as said."""
    min_stem_chars: int = 2
    """A particle or ending is cut only when this many characters stay."""

    @property
    def grammar_words(self) -> frozenset[str]:
        """Words that carry structure, not menu content (with, for, instead, to)."""
        return (self.function_words | self.attach_back_words | self.replaced_before | self.replaced_after
                | {word for word, _ in self.number_homophones})


KO = LanguageRules(
    language="ko",
    fillers=frozenset({
        "음", "음음", "어", "어어", "그", "저", "저기", "아", "에", "흠", "뭐", "그러니까", "일단", "혹시", "좀", "네네",
        "와", "우와", "진짜", "정말", "엄청",
    }),
    stopwords=frozenset(),
    polite_phrases=(
        "해 주세요", "해 주실래요", "해 줘요", "해 줘", "주실 수 있나요", "부탁해요", "부탁드립니다", "부탁드려요", "주세요", "줘요", "줘",
        "할게요", "할래요", "해 주시겠어요", "주시겠어요", "주십시오", "줄래요", "주실래요",
    ),
    polite_endings=(
        "하겠습니다", "해주세요", "해주실래요", "주실래요", "해주실", "할게요", "할께요", "할래요", "해줘요", "해줘", "주세요", "줘요",
        "드릴게요", "해서요", "해서", "인데요", "인데", "이요", "해요", "줘", "해", "요",
    ),
    particles=("이랑", "으로", "하고", "에서", "랑", "와", "과", "는", "은", "를", "을", "이", "가", "도", "로", "에", "만",
               "씩"),
    conjunction_particles=frozenset({"이랑", "랑", "하고", "와", "과"}),
    boundary_words=frozenset({"그리고", "하고", "랑", "또", "그다음", "다음", "주시고", "주고", "해주시고", "해주고"}),
    make_it_phrases=("해 주세요", "해주세요", "해 줘", "해줘", "해 주실래요", "해 주시겠어요", "해 달라", "해 달라고요",
                     "해달라고요", "해 줄래요", "해 주실 수 있나요"),
    counters=frozenset({"잔", "개", "세트", "조각", "병", "캔", "컵", "명", "인분", "봉지", "판", "박스", "덩이", "통"}),
    set_counters=frozenset({"세트"}),
    attach_back_particles=frozenset({"로", "으로"}),
    replaced_after=frozenset({"대신", "말고"}),
    function_words=frozenset({"이거", "그거", "저거", "이것", "그것", "것", "거", "수", "나", "내", "제", "저희", "우리",
                              # "put in / on top": how an option is said (오트 우유 많이 넣어서), not content
                              "넣어", "넣어서", "넣고", "올려", "올려서", "올리고"}),
    spellings=(("셋트", "세트"), ("주세여", "주세요"), ("할께요", "할게요"), ("주 세요", "주세요")),
    contractions=(("걸로", "거로"), ("걸", "거를"), ("건", "거는")),
    expansions=(("아아", "아이스 아메리카노"), ("뜨아", "따뜻한 아메리카노"), ("따아", "따뜻한 아메리카노")),
    repair_words=frozenset({"아니", "아니다", "아니아니", "아니지"}),
    distributive_particles=frozenset({"씩"}),
    quantity_follows_item=True,
)

EN = LanguageRules(
    language="en",
    fillers=frozenset({
        "uh", "um", "umm", "uhm", "er", "erm", "hmm", "like", "so", "well", "just", "actually",
        "oh",
    }),
    # "could" is dropped too: fuzzy matching hears it as the temperature "cold" (could I also have).
    stopwords=frozenset({"a", "an", "the", "of", "my", "me", "i", "some", "please", "us", "could"}),
    # "you know what" is a turn of phrase, not a question (you know what, cancel my order).
    spellings=(("you know what", ""),),
    expansions=(("lemonade", "lemon ade"), ("lemonades", "lemon ades")),
    polite_phrases=(
        "can i get", "could i get", "can i have", "could i have", "may i have", "may i get",
        "id like", "i would like", "ill have", "ill take", "ill get", "let me get", "let me have",
        "give me", "get me", "i want", "i need", "please", "thank you", "thanks",
    ),
    polite_endings=(),
    particles=(),
    conjunction_particles=frozenset(),
    boundary_words=frozenset({"and", "plus", "then", "also"}),
    counters=frozenset({
        "cups", "cup", "pieces", "piece", "orders", "order", "sets", "set", "combos", "combo",
        "meals", "meal",
    }),
    set_counters=frozenset({"sets", "set", "combos", "combo", "meals", "meal"}),
    ounce_words=frozenset({"oz", "ounce", "ounces"}),
    number_homophones=(
        ("won", 1), ("to", 2), ("too", 2), ("free", 3), ("tree", 3), ("for", 4), ("fore", 4),
    ),
    slips=(("nice", "iced"), ("oatmeal", "oat milk")),
    attach_back_words=frozenset({"with"}),
    replaced_before=frozenset({"instead"}),
    function_words=frozenset({
        "im", "you", "your", "youre", "he", "his", "him", "she", "her", "it", "its", "we", "our", "they", "their",
        "them", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom", "whose",
        "is", "isnt", "are", "arent", "was", "were", "be", "been", "am", "do", "does", "did", "dont", "can",
        "could", "will", "would", "shall", "should", "may", "might", "must", "have", "has", "had", "get",
        "not", "nor", "or", "but", "if", "to", "for", "in", "on", "at", "by", "from", "into", "out", "up",
        "about", "as", "than", "too", "very", "all", "any", "one", "ones", "yes", "ok", "okay",
    }),
    question_openers=frozenset({"is", "are", "does", "do", "did", "was", "were"}),
    subject_verbs=frozenset({"is", "are", "was", "were", "has", "have", "had", "contains", "tastes"}),
    demonstratives=frozenset({"this", "that", "these", "those"}),
    quantity_follows_item=False,
)

RULES = {"ko": KO, "en": EN}

AMOUNT_WORDS: dict[str, tuple[str, ...]] = {
    "none": ("빼고", "없이", "빼서", "빼", "노", "no", "without", "hold", "skip"),
    "light": ("조금", "약간", "살짝", "적게", "덜", "조금만", "little", "bit", "light", "less", "splash", "dash"),
    "regular": ("보통", "normal", "regular amount"),
    "extra": ("많이", "듬뿍", "추가", "더", "많이요", "extra", "lot", "lots", "more"),
}
"""Amount levels (DESIGN.md) and the words for them, both languages (stopwords already gone)."""


def rules_for(language: str) -> LanguageRules:
    """The rules for ``language``; unknown languages fall back to English word handling."""
    return RULES.get(language, EN)
