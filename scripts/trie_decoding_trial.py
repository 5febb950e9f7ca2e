#!/usr/bin/env python3
"""What was tried before the menu-grammar pass shipped as a bag of tokens (docs/tuning.md, round 7):
Whisper's decoder constrained by a word-level prefix tree over the grammar.

CTranslate2's Whisper takes only a fixed list of suppressed tokens, no per-step mask, so this
runs Whisper base's decoder in numpy, its float16 weights read from the CTranslate2 ``model.bin``
(the encoder output still comes from CTranslate2), with a key-value cache, and a beam search in
which every word written must be a word of ``nlu.vocabulary.grammar_words`` spelled as the
tokenizer spells it. Scores are log-probabilities over the whole vocabulary (nothing is
renormalised), so they compare with Whisper's own. It reads a ``judge_readings.py dump`` folder
and prints, per condition, command acceptance of the gateway's choice, of the trie's best reading
alone, and of the gateway's choice among Whisper's readings plus the trie's, with seconds a clip.

    python scripts/judge_readings.py dump audio_fixtures/coffee-orders/sweep.jsonl /tmp/dump \\
        --noise noise/ --snr 6 --mix peak-frame --only tap --only dishes
    OPENBLAS_NUM_THREADS=2 python scripts/trie_decoding_trial.py /tmp/dump audio_fixtures/coffee-orders/sweep.jsonl
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from faster_whisper.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from judge_readings import _outcome  # noqa: E402

from voicegw.asr.biasing import bias_for_menu, grammar_for_menu  # noqa: E402
from voicegw.asr.grammar import PUNCTUATION  # noqa: E402
from voicegw.asr.loader import load_transcriber  # noqa: E402
from voicegw.asr.transcript import Reading  # noqa: E402
from voicegw.nlu.loader import load_menus  # noqa: E402
from voicegw.nlu.rescoring import choose_reading  # noqa: E402
from voicegw.qa.manifest import load_manifest  # noqa: E402
from voicegw.qa.scoring import score_clip  # noqa: E402
from voicegw.settings import Settings  # noqa: E402

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2_variables(path: Path) -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model.bin (the layout ``ctranslate2.specs.ModelSpec`` writes)."""
    buf, at = path.read_bytes(), 0

    def take(fmt: str) -> int:
        nonlocal at
        (value,) = struct.unpack_from(fmt, buf, at)
        at += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal at
        size = take("H")
        text = buf[at: at + size - 1].decode()
        at += size
        return text

    take("I"), string(), take("I")  # binary version, spec name, spec revision
    variables = {}
    for _ in range(take("I")):
        name = string()
        dims = [take("I") for _ in range(take("B"))]
        dtype, size = _DTYPES[take("B")], take("I")
        variables[name] = np.frombuffer(buf, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=at).reshape(dims)
        at += size
    return variables


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-5) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    # erf by Abramowitz and Stegun 7.1.26 (error under 1.5e-7; numpy has none). |x| is capped so
    # exp(-x^2) never underflows to subnormals, which make every later matrix product crawl.
    z = np.minimum(np.abs(x / np.sqrt(2)), 6.0)
    t = 1 / (1 + 0.3275911 * z)
    erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-z * z)
    return 0.5 * x * (1 + np.sign(x) * erf)


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = np.exp(np.maximum(scores - scores.max(-1, keepdims=True), -80.0))
    return scores / scores.sum(-1, keepdims=True)


class NumpyDecoder:
    """Whisper's decoder (pre-norm, tied output embedding), float32, with a key-value cache."""

    def __init__(self, model_bin: Path) -> None:
        w = read_ct2_variables(model_bin)
        f32 = lambda name: np.asarray(w[name], dtype=np.float32)  # noqa: E731
        self.embeddings, self.positions = f32("decoder/embeddings/weight"), f32("decoder/position_encodings/encodings")
        self.output = np.ascontiguousarray(self.embeddings.T)
        self.heads, self.width = int(w["decoder/num_heads"]), self.embeddings.shape[1]
        self.final_norm = f32("decoder/layer_norm/gamma"), f32("decoder/layer_norm/beta")
        self.layers = []
        while f"decoder/layer_{len(self.layers)}/ffn/linear_0/weight" in w:
            prefix = f"decoder/layer_{len(self.layers)}/"
            layer = {k[len(prefix):]: f32(k) for k in w if k.startswith(prefix)}
            self.layers.append({k: np.ascontiguousarray(v.T) if k.endswith("weight") else v for k, v in layer.items()})

    def memory(self, encoded: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Cross-attention keys [H, dh, T] and values [H, T, dh] of the encoder output [T, d], per layer."""
        h, dh = self.heads, self.width // self.heads
        out = []
        for layer in self.layers:
            kv = encoded @ layer["attention/linear_1/weight"] + layer["attention/linear_1/bias"]
            keys, values = kv[:, : self.width], kv[:, self.width:]
            out.append((np.ascontiguousarray(keys.reshape(-1, h, dh).transpose(1, 2, 0)),
                        np.ascontiguousarray(values.reshape(-1, h, dh).transpose(1, 0, 2))))
        return out

    def step(self, tokens: np.ndarray, start: int, cache: list | None, memory: list) -> tuple[np.ndarray, list]:
        """Log-probabilities [B, n, V] after ``tokens`` [B, n] at positions start.., and the new cache."""
        b, n = tokens.shape
        h, dh = self.heads, self.width // self.heads
        x = self.embeddings[tokens] + self.positions[start: start + n]
        new_cache = []
        for i, layer in enumerate(self.layers):
            y = _layer_norm(x, layer["self_attention/layer_norm/gamma"], layer["self_attention/layer_norm/beta"])
            qkv = y @ layer["self_attention/linear_0/weight"] + layer["self_attention/linear_0/bias"]
            q, k, v = (part.reshape(b, n, h, dh).transpose(0, 2, 1, 3) for part in np.split(qkv, 3, axis=-1))
            if cache is not None:
                k, v = np.concatenate([cache[i][0], k], axis=2), np.concatenate([cache[i][1], v], axis=2)
            new_cache.append((k, v))
            scores = np.matmul(np.ascontiguousarray(q) * dh**-0.5, np.ascontiguousarray(k.transpose(0, 1, 3, 2)))
            future = np.arange(k.shape[2])[None, :] > np.arange(n)[:, None] + k.shape[2] - n
            attended = np.matmul(_softmax(np.where(future, -1e4, scores)), np.ascontiguousarray(v))
            x = x + attended.transpose(0, 2, 1, 3).reshape(b, n, self.width) @ layer["self_attention/linear_1/weight"] \
                + layer["self_attention/linear_1/bias"]
            y = _layer_norm(x, layer["attention/layer_norm/gamma"], layer["attention/layer_norm/beta"])
            q = (y @ layer["attention/linear_0/weight"] + layer["attention/linear_0/bias"]) * dh**-0.5
            q = np.ascontiguousarray(q.reshape(b * n, h, dh).transpose(1, 0, 2))
            keys, values = memory[i]
            attended = np.matmul(_softmax(np.matmul(q, keys)), values).transpose(1, 0, 2).reshape(b, n, self.width)
            x = x + attended @ layer["attention/linear_2/weight"] + layer["attention/linear_2/bias"]
            y = _layer_norm(x, layer["ffn/layer_norm/gamma"], layer["ffn/layer_norm/beta"])
            y = _gelu(y @ layer["ffn/linear_0/weight"] + layer["ffn/linear_0/bias"])
            x = x + y @ layer["ffn/linear_1/weight"] + layer["ffn/linear_1/bias"]
        logits = (_layer_norm(x, *self.final_norm).reshape(b * n, self.width) @ self.output).reshape(b, n, -1)
        top = logits.max(-1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True)), new_cache


class WordTrie:
    """Token sequences of the grammar's words (after a space, capitalised or not)."""

    def __init__(self, tokenizer, words) -> None:  # noqa: ANN001 - faster_whisper Tokenizer
        self.root: dict = {}
        for word in words:
            for form in {word, word.capitalize()}:
                node = self.root
                for token in tokenizer.encode(" " + form):
                    node = node.setdefault(token, {})
                node[-1] = {}
        self.marks = {tokens[0] for tokens in map(tokenizer.encode, PUNCTUATION) if len(tokens) == 1}

    def node(self, path: tuple[int, ...]) -> dict | None:
        node = self.root
        for token in path:
            node = node.get(token)
            if node is None:
                return None
        return node


def trie_readings(model, decoder: NumpyDecoder, trie: WordTrie, samples: np.ndarray, language: str,  # noqa: ANN001
                  hotwords: str | None, beam: int = 4, max_new: int = 40) -> list[Reading]:
    """Beam search in which every word is one of the trie's; mean log-probability per token, end of text included."""
    from faster_whisper.audio import pad_or_trim

    tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
    features = model.feature_extractor(samples)
    memory = decoder.memory(np.array(model.encode(pad_or_trim(features[:, :-1])))[0])
    prompt = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords)
    logp, cache = decoder.step(np.array([prompt]), 0, None, memory)
    beams, rows, position, done = [((), (), 0.0)], logp[:, -1], len(prompt), []
    for _ in range(max_new):
        grown = []
        for i, (tokens, word, score) in enumerate(beams):
            node = trie.node(word) if word else None
            nexts = [t for t in node if t != -1] if node else []
            if not word or (node is not None and -1 in node):
                nexts += [*trie.root, *trie.marks]
                if tokens:
                    done.append((tokens, score + float(rows[i, tokenizer.eot])))
            for token in sorted(set(nexts), key=lambda t: -rows[i, t])[:beam]:
                inside = bool(word) and node is not None and token in node
                grown.append((tokens + (token,), () if token in trie.marks else (word + (token,) if inside else (token,)),
                              score + float(rows[i, token]), i))
        grown = sorted(grown, key=lambda g: -g[2])[:beam]
        if not grown or (len(done) >= beam and grown[0][2] / (len(grown[0][0]) + 1)
                         < max(s / (len(t) + 1) for t, s in done)):
            break
        cache = [(k[[g[3] for g in grown]], v[[g[3] for g in grown]]) for k, v in cache]
        logp, cache = decoder.step(np.array([[g[0][-1]] for g in grown]), position, cache, memory)
        rows, position, beams = logp[:, -1], position + 1, [g[:3] for g in grown]
    readings: dict[str, float] = {}
    for tokens, score in sorted(done, key=lambda d: -d[1] / (len(d[0]) + 1)):
        readings.setdefault(tokenizer.decode(list(tokens)).strip(), score / (len(tokens) + 1))
    return [Reading(text, mean) for text, mean in list(readings.items())[:5]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump")
    parser.add_argument("manifest")
    parser.add_argument("--only", action="append", help="only conditions whose name contains this (repeatable)")
    args = parser.parse_args()
    settings = Settings.load()
    transcriber = load_transcriber(settings.asr)
    model, menus, clips = transcriber._model, load_menus(settings.menus_dir), load_manifest(args.manifest)
    decoder = NumpyDecoder(transcriber.model_dir / "model.bin")
    tries: dict[tuple[str, str], WordTrie] = {}
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in Path(args.dump, "dump.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        clip, menu, language = clips[row["n"]], menus[row["store"]], row["lang"]
        if clip.expects_no_speech or not row["readings"] or (args.only and not any(o in row["condition"] for o in args.only)):
            continue
        if (menu.id, language) not in tries:
            tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
            tries[(menu.id, language)] = WordTrie(tokenizer, grammar_for_menu(menu, language))
        started = time.perf_counter()
        trie = trie_readings(model, decoder, tries[(menu.id, language)],
                             np.load(Path(args.dump, "samples", f"{row['key']}.npy")), language,
                             bias_for_menu(menu, language, settings.asr.bias)[1])
        whispers = [Reading(r["text"], r["avg_logprob"]) for r in row["readings"]]
        counted = counts[row["condition"]]
        counted["orders"] += 1
        counted["seconds"] += time.perf_counter() - started
        for name, readings in (("gateway", whispers), ("trie alone", trie[:1]), ("gateway + trie", whispers + trie)):
            if readings:
                reading, understood = choose_reading(readings, menu, language)
                counted[name] += score_clip(clip, _outcome(reading.text, understood, menu)).command_accepted
    print(f"{'condition':40s} {'orders':>6s} {'gateway':>8s} {'trie':>8s} {'both':>8s} {'s/clip':>7s}")
    for condition, c in counts.items():
        n = c["orders"]
        print(f"{condition:40s} {int(n):6d} {c['gateway'] / n:8.3f} {c['trie alone'] / n:8.3f} "
              f"{c['gateway + trie'] / n:8.3f} {c['seconds'] / n:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
