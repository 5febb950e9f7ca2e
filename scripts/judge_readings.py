#!/usr/bin/env python3
"""Groundwork for menu-grammar rescoring (docs/tuning.md, round 5): can Whisper's decoder, scoring
a reading by teacher forcing, choose better among readings than the beam search did?

``dump`` replays a manifest (clean, and mixed with noise as ``voicegw eval`` mixes it) through
the gateway's own decode, VAD, N-best decoder and guards, and keeps per clip and condition the
speech samples Whisper got and its readings. ``judge`` then, offline and repeatably:

- chooses among the readings the way the gateway does (``nlu.rescoring.choose_reading``);
- scores every reading, and readings with one menu name swapped in for a span that sounds like it,
  under the decoder by teacher forcing (``--end-of-text``: ``Whisper.generate`` with the text as
  prefix, the whole vocabulary and the end of text; else ``Whisper.align``, text tokens only), and
  chooses by that score plus the menu fit;
- counts command acceptance for both, and for an oracle that always picks a right reading when
  there is one (what any chooser among those readings could reach).

    python scripts/judge_readings.py dump audio_fixtures/coffee-orders/sweep.jsonl /tmp/dump \\
        --noise noise/ --snr 6 --only dishes --only tap --only coffee-shop
    python scripts/judge_readings.py judge /tmp/dump audio_fixtures/coffee-orders/sweep.jsonl --hotwords --end-of-text --variants 8

``oracle`` (no model) says what any chooser could reach over the readings plus readings edited
towards the menu (``span_edits``): round 7.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicegw.asr.biasing import bias_for_menu, grammar_for_menu  # noqa: E402
from voicegw.asr.loader import load_transcriber  # noqa: E402
from voicegw.asr.transcript import Reading, TranscribeOptions  # noqa: E402
from voicegw.audio.decode import decode_audio  # noqa: E402
from voicegw.audio.noise import NOISE_LIMITS, list_noise_files  # noqa: E402
from voicegw.audio.vad import VadOptions, find_speech, speech_only  # noqa: E402
from voicegw.nlu.loader import load_menus  # noqa: E402
from voicegw.nlu.matcher import match_key, to_jamo  # noqa: E402
from voicegw.nlu.menu import Menu  # noqa: E402
from voicegw.nlu.packs import pack  # noqa: E402
from voicegw.nlu.parser import understand  # noqa: E402
from voicegw.nlu.phonetic import sound_key  # noqa: E402
from voicegw.nlu.rescoring import choose_reading, may_replace, menu_fit  # noqa: E402
from voicegw.nlu.types import Understanding  # noqa: E402
from voicegw.qa.manifest import load_manifest  # noqa: E402
from voicegw.qa.runner import NoiseBank, clip_audio, conditions_for  # noqa: E402
from voicegw.qa.scoring import ClipOutcome, score_clip  # noqa: E402
from voicegw.settings import Settings  # noqa: E402

#: Readings whose mean decoder log-probability per token is more than this below the best
#: reading's are not weighed (as ``nlu.rescoring.MARGIN`` does for beam scores).
JUDGE_MARGIN = 0.5


def dump(args: argparse.Namespace, settings: Settings) -> None:
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    transcriber = load_transcriber(settings.asr)
    menus = load_menus(settings.menus_dir)
    clips = load_manifest(args.manifest)
    noises = [n for n in (list_noise_files(args.noise) if args.noise else [])
              if not args.only or any(part in n.stem for part in args.only)]
    conditions = conditions_for(noises, [float(s) for s in args.snr.split(",")] if noises else [], args.mix)
    vad = VadOptions(settings.audio.vad_aggressiveness, settings.audio.vad_frame_ms, settings.audio.vad_padding_ms)
    bank = NoiseBank()
    with (out / "dump.jsonl").open("w", encoding="utf-8") as rows:
        for condition in conditions:
            for n, clip in enumerate(clips):
                audio, _ = clip_audio(clip, condition, bank)
                pcm = decode_audio(audio, NOISE_LIMITS)
                speech = find_speech(pcm, vad)
                row = {"key": f"{condition.label}__{n:04d}", "n": n, "condition": condition.label,
                       "store": clip.store, "lang": clip.lang, "readings": []}
                if speech.has_speech:
                    samples = speech_only(pcm, speech).samples
                    np.save(out / "samples" / f"{row['key']}.npy", samples.astype(np.float32))
                    _, hotwords = bias_for_menu(menus[clip.store], clip.lang, settings.asr.bias)
                    grammar = grammar_for_menu(menus[clip.store], clip.lang) if settings.asr.menu_grammar else ()
                    options = TranscribeOptions(language=clip.lang, beam_size=settings.asr.beam_size, hotwords=hotwords,
                                                no_speech_threshold=settings.asr.no_speech_threshold,
                                                readings=settings.asr.readings, grammar=grammar)
                    transcript = transcriber.transcribe(samples, options)
                    row["readings"] = [{"text": r.text, "avg_logprob": r.avg_logprob} for r in transcript.readings]
                rows.write(json.dumps(row, ensure_ascii=False) + "\n")


class Judge:
    """Whisper's decoder as a judge of given texts for one clip (the encoder runs once)."""

    def __init__(self, model, frames_margin: int) -> None:  # noqa: ANN001 - faster_whisper.WhisperModel
        self.model, self.margin = model, frames_margin

    def scores(self, samples: np.ndarray, texts: list[str], language: str, hotwords: str | None,
               end_of_text: bool = False) -> list[float]:
        """Mean log-probability per token of each text, teacher-forced; with ``end_of_text`` over
        the whole vocabulary and counting the end-of-text token after it, so that a reading that
        stops early pays for what it leaves out."""
        import ctranslate2
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        tokenizer = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language=language)
        features = self.model.feature_extractor(samples)
        frames = features.shape[-1] - 1
        encoded = np.array(self.model.encode(pad_or_trim(features[:, :frames])))
        # Cutting the output to the speech makes cross-attention cheap and the scores wrong: the
        # decoder was trained on the full 30 s window (docs/tuning.md, round 5). For experiments only.
        encoded = encoded[:, : min(encoded.shape[1], frames // 2 + self.margin)]
        start = self.model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords)
        tokens = [tokenizer.encode(" " + text.strip()) for text in texts]
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(encoded, len(texts), axis=0)))
        if not end_of_text:
            results = self.model.model.align(batch, start[:-1], tokens, min(frames, encoded.shape[1] * 2))
            return [float(np.mean(np.log(np.maximum(r.text_token_probs, 1e-12)))) for r in results]
        # The texts as the decoder's prefix; the vocabulary log-probabilities come back for every
        # forced position and one more, which holds the end-of-text probability.
        prompts = [start + t for t in tokens]
        results = self.model.model.generate(batch, prompts, beam_size=1, max_length=max(map(len, prompts)) + 4,
                                            return_logits_vocab=True, suppress_blank=False)
        means = []
        for said, result in zip(tokens, results):
            logits = np.asarray(result.logits[0], dtype=np.float64)
            logp = logits[: len(said) + 1] - np.logaddexp.reduce(logits[: len(said) + 1], axis=1, keepdims=True)
            picked = [logp[i, token] for i, token in enumerate([*said, tokenizer.eot])]
            means.append(float(np.mean(picked)))
        return means


_WORD = re.compile(r"[\w'-]+")


def _spans(text: str) -> list[tuple[int, int, list[str]]]:
    """Every run of one to three words of ``text``: its start and end offsets and its words."""
    words = list(_WORD.finditer(text))
    return [(words[i].start(), words[i + width - 1].end(), [w.group() for w in words[i:i + width]])
            for i in range(len(words)) for width in (1, 2, 3) if i + width <= len(words)]


def menu_variants(text: str, menu: Menu, language: str, limit: int) -> list[str]:
    """``text`` with one span of one to three words replaced by the menu name it is closest to
    (items and option values, compared as the matcher compares them), the closest first."""
    from rapidfuzz import fuzz, process

    names = sorted({name.lower() for thing in [*menu.items, *(v for g in menu.option_groups for v in g.values)]
                    for name in thing.names.get(language, []) or []})
    keys = [match_key(name.split()) for name in names]
    found = []
    for start, end, said in _spans(text):
        span = " ".join(said).lower()
        key = match_key(span.split())
        if len(key) < 3:
            continue
        for _, score, j in process.extract(key, keys, scorer=fuzz.ratio, limit=3, score_cutoff=60):
            if names[j] != span:
                found.append((score, start, end, names[j]))
    variants: list[str] = []
    for _, start, end, name in sorted(found, key=lambda f: -f[0]):
        variant = text[:start] + name + text[end:]
        if variant != text and variant not in variants:
            variants.append(variant)
    return variants[:limit]


def _spoken_key(words: list[str], language: str) -> str:
    """How a span sounds: digits spelled out with the pack's number words, then the English sound
    key (or jamo), so "60 ounce" is compared as "sixty ounce" and meets "sixteen ounce"."""
    numbers = pack(language).numbers
    spelled = {value: word for word, value in [*numbers.tens.items(), *numbers.cardinal.items()]}

    def spell(word: str) -> str:
        if not word.isdigit():
            return word
        value = int(word)
        if value in spelled or value >= 100:
            return spelled.get(value, word)
        return spelled.get(value // 10 * 10, "") + spelled.get(value % 10, "") or word

    text = "".join(spell(word.lower()) for word in words)
    return (sound_key(text) or text) if text.isascii() else to_jamo(text)


def span_edits(text: str, menu: Menu, language: str, singles: int = 16, pairs: int = 8) -> list[str]:
    """``text`` with spans of one to three words replaced by the menu names that sound closest
    (three a span, rapidfuzz ratio of ``_spoken_key`` at least 70); a name said also yields the
    other values of its option group ("single shot" -> "double shot"). The ``singles`` closest
    single replacements, then up to ``pairs`` of two among the six closest."""
    from rapidfuzz import fuzz

    lexicon = [(name.lower(), _spoken_key(name.lower().split(), language), group.id)
               for group in menu.option_groups for value in group.values for name in value.names.get(language, []) or []]
    lexicon += [(name.lower(), _spoken_key(name.lower().split(), language), "")
                for item in menu.items for name in item.names.get(language, []) or []]
    found = []
    for start, end, said in _spans(text):
        key, span = _spoken_key(said, language), " ".join(said).lower()
        if len(key) < 2:
            continue
        groups_said = {group for name, _, group in lexicon if name == span and group}
        scored = sorted(((75.0 if group in groups_said else 0.0) or fuzz.ratio(key, name_key), name)
                        for name, name_key, group in lexicon if name != span)
        close = list(dict.fromkeys(name for score, name in reversed(scored) if score >= 70))[:3]
        found += [(fuzz.ratio(key, _spoken_key(name.split(), language)), start, end, name) for name in close]
    found.sort(key=lambda f: -f[0])
    edits = [text[:a] + name + text[b:] for _, a, b, name in found[:singles]]
    top = found[:6]
    for x, first in enumerate(top):
        for second in top[x + 1:]:
            (_, a1, b1, n1), (_, a2, b2, n2) = sorted([first, second], key=lambda f: f[1])
            if b1 <= a2 and pairs > 0:
                edits.append(text[:a1] + n1 + text[b1:a2] + n2 + text[b2:])
                pairs -= 1
    return list(dict.fromkeys(e for e in edits if e != text))


def oracle(args: argparse.Namespace, settings: Settings) -> None:
    """Without the model: the gateway's choice, an oracle over Whisper's readings, and an oracle
    over them plus ``span_edits`` of the best two (docs/tuning.md, round 7)."""
    menus = load_menus(settings.menus_dir)
    clips = load_manifest(args.manifest)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sizes = []
    for line in Path(args.dump, "dump.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        clip, menu, language, counted = clips[row["n"]], menus[row["store"]], row["lang"], counts[row["condition"]]
        if clip.expects_no_speech:
            continue
        counted["orders"] += 1
        if not row["readings"]:
            continue
        readings = [Reading(r["text"], r["avg_logprob"]) for r in row["readings"]]
        right = lambda text: score_clip(clip, _outcome(text, understand(text, menu, language), menu)).command_accepted  # noqa: E731
        chosen, u = choose_reading(readings, menu, language)
        edits = [e for r in readings[:2] for e in span_edits(r.text, menu, language)]
        sizes.append(len(readings) + len(edits))
        counted["gateway"] += score_clip(clip, _outcome(chosen.text, u, menu)).command_accepted
        counted["oracle"] += any(right(r.text) for r in readings)
        counted["oracle_edits"] += any(right(t) for t in [*(r.text for r in readings), *edits])
    print(f"{'condition':40s} {'orders':>6s} {'gateway':>8s} {'oracle':>8s} {'+edits':>8s}")
    for condition, c in counts.items():
        n = max(c["orders"], 1)
        print(f"{condition:40s} {c['orders']:6d} {c['gateway'] / n:8.3f} {c['oracle'] / n:8.3f} {c['oracle_edits'] / n:8.3f}")
    print(f"candidates a clip: mean {np.mean(sizes):.1f}")


def _outcome(text: str, u: Understanding, menu: Menu) -> ClipOutcome:
    """What the turn would answer, with the menu's defaults filled in as the dialogue fills them."""
    def options(line) -> list[dict]:  # noqa: ANN001 - OrderLine
        said = {o.group: o.model_dump() for o in line.options}
        item = menu.item(line.item_id)
        for group in item.option_groups:
            if group not in said and (value := menu.default_value(item, group)):
                said[group] = {"group": group, "value": value, "amount": "regular"}
        return list(said.values())
    lines = () if u.reason else tuple({"item_id": l.item_id, "quantity": l.quantity, "options": options(l)} for l in u.lines)
    return ClipOutcome(status="ok" if u.reason is None else "not_understood", transcript=text,
                       intent=u.intent.name.value, lines=lines)


def judge(args: argparse.Namespace, settings: Settings) -> None:
    model = load_transcriber(settings.asr)._model
    menus = load_menus(settings.menus_dir)
    clips = load_manifest(args.manifest)
    scorer = Judge(model, args.frames)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in Path(args.dump, "dump.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        clip, menu, language, counted = clips[row["n"]], menus[row["store"]], row["lang"], counts[row["condition"]]
        if clip.expects_no_speech:
            counted["no_speech_clips"] += 1
            counted["orders_from_noise"] += any(understand(r["text"], menu, language).lines for r in row["readings"][:1])
            continue
        counted["orders"] += 1
        if not row["readings"]:
            continue
        readings = [Reading(r["text"], r["avg_logprob"]) for r in row["readings"]]
        chosen, u = choose_reading(readings, menu, language)
        right = score_clip(clip, _outcome(chosen.text, u, menu)).command_accepted
        texts = [r.text for r in readings]
        for text in texts[:2] if args.variants else ():
            texts += [v for v in menu_variants(text, menu, language, args.variants) if v not in texts]
        understood = [understand(text, menu, language) for text in texts]
        hotwords = bias_for_menu(menu, language, settings.asr.bias)[1] if args.hotwords else None
        means = scorer.scores(np.load(Path(args.dump, "samples", f"{row['key']}.npy")), texts, language, hotwords,
                              args.end_of_text)
        best = max(means[: len(readings)])
        eligible = [i for i in range(len(texts))
                    if may_replace(understood[0].intent.name, understood[i].intent.name) and best - means[i] <= JUDGE_MARGIN]
        pick = max(eligible, key=lambda i: means[i] + menu_fit(understood[i]))
        judged = score_clip(clip, _outcome(texts[pick], understood[pick], menu)).command_accepted
        oks = [score_clip(clip, _outcome(t, x, menu)).command_accepted for t, x in zip(texts, understood)]
        counted["gateway"] += right
        counted["judge"] += judged
        counted["oracle_readings"] += any(oks[: len(readings)])
        counted["oracle_with_variants"] += any(oks)
        if judged != right:
            print(("won " if judged else "lost"), row["condition"], "|", chosen.text, "->", texts[pick])
    print(f"{'condition':40s} {'orders':>6s} {'gateway':>8s} {'judge':>8s} {'oracle':>8s} {'+variants':>9s}")
    for condition, c in counts.items():
        n = max(c["orders"], 1)
        print(f"{condition:40s} {c['orders']:6d} {c['gateway'] / n:8.3f} {c['judge'] / n:8.3f} "
              f"{c['oracle_readings'] / n:8.3f} {c['oracle_with_variants'] / n:9.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    d = commands.add_parser("dump")
    d.add_argument("manifest")
    d.add_argument("out")
    d.add_argument("--noise", type=Path)
    d.add_argument("--snr", default="6")
    d.add_argument("--mix", default="speech", choices=("speech", "peak-frame"))
    d.add_argument("--only", action="append", help="only noises whose name contains this (repeatable)")
    o = commands.add_parser("oracle", help="without the model: what span edits of the readings could reach")
    o.add_argument("dump")
    o.add_argument("manifest")
    j = commands.add_parser("judge")
    j.add_argument("dump")
    j.add_argument("manifest")
    j.add_argument("--hotwords", action="store_true", help="score under the menu's hotword prompt, as the beams were decoded")
    j.add_argument("--variants", type=int, default=0, help="menu-name variants per reading of the best two")
    j.add_argument("--end-of-text", action="store_true",
                   help="score over the whole vocabulary, the end-of-text token included")
    j.add_argument("--frames", type=int, default=1500,
                   help="encoder frames kept after the speech (20 ms each); fewer than the full 1500 ruin the scores")
    args = parser.parse_args()
    settings = Settings.load()
    {"dump": dump, "judge": judge, "oracle": oracle}[args.command](args, settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
