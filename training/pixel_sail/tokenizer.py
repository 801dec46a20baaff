"""A byte-level BPE tokenizer in Hugging Face ``tokenizer.json`` format, with the reference's special tokens.

The engine loads ``tokenizer.json`` with a maintained library (@huggingface/tokenizers). Python has no
such library on Debian, so this module holds the training-side counterpart: it learns the merges from
the generator's text, writes ``tokenizer.json`` and encodes text for training the same way the library
does (a test compares both on a corpus). Real Qwen2.5 checkpoints bring their own tokenizer.json.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from typing import Dict, Iterable, List, Sequence, Tuple

from .config import SPECIAL_TOKENS

# GPT-2 style pre-tokenisation restricted to what both Python ``re`` and JavaScript regexes read
# identically: letters and digits are ASCII classes; everything else is byte-level encoded anyway.
PRETOKENIZE_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+"
_PRETOKENIZE = re.compile(PRETOKENIZE_PATTERN)


@lru_cache(maxsize=1)
def bytes_to_unicode() -> Dict[int, str]:
    """The GPT-2 byte → printable character table used by the ByteLevel pre-tokenizer."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _words(text: str) -> List[str]:
    table = bytes_to_unicode()
    return ["".join(table[b] for b in piece.encode("utf-8")) for piece in _PRETOKENIZE.findall(text)]


def train_bpe(corpus: Iterable[str], vocab_size: int) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Learn merges until the base vocabulary (256 bytes + merges) has ``vocab_size - len(SPECIAL_TOKENS)`` entries."""
    target = vocab_size - len(SPECIAL_TOKENS)
    if target < 256:
        raise ValueError(f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)}")
    counts = Counter(w for text in corpus for w in _words(text))
    words = {tuple(w): c for w, c in counts.items()}
    vocab = list(bytes_to_unicode().values())
    merges: List[Tuple[str, str]] = []
    while len(vocab) < target:
        pairs: Counter = Counter()
        for symbols, c in words.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        # Ties broken by the pair itself so training is deterministic.
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        vocab.append(best[0] + best[1])
        merged = {}
        for symbols, c in words.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == best[0] and symbols[i + 1] == best[1]:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        words = merged
    return vocab, merges


def tokenizer_json(vocab: Sequence[str], merges: Sequence[Tuple[str, str]]) -> dict:
    """The Hugging Face tokenizer.json (Qwen2-like layout: Split + ByteLevel, BPE, ByteLevel decoder)."""
    vocab_ids = {tok: i for i, tok in enumerate(vocab)}
    added = [{"id": len(vocab) + i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, tok in enumerate(SPECIAL_TOKENS)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PRETOKENIZE_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        ]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab_ids, "merges": [f"{a} {b}" for a, b in merges]},
    }


def tokenizer_config_json() -> dict:
    """tokenizer_config.json: the chat layout of the reference as a template, for HF-compatible readers."""
    return {
        "tokenizer_class": "Qwen2Tokenizer",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "bos_token": None,
        "model_max_length": 8192,
        "chat_template": ("{% for m in messages %}{% if m['role'] == 'user' %}<|im_start|>user\n{{ m['content'] }}"
                          "<|im_end|>\n{% else %}{{ m['content'] }}<|endoftext|>{% endif %}{% endfor %}"),
    }


class Tokenizer:
    """Encodes and decodes with a tokenizer.json written by :func:`tokenizer_json` (same results as the JS library)."""

    def __init__(self, data: dict) -> None:
        model = data["model"]
        if model.get("type") != "BPE":
            raise ValueError("only BPE tokenizer.json files are supported here")
        self.vocab: Dict[str, int] = dict(model["vocab"])
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.special: Dict[str, int] = {t["content"]: t["id"] for t in data.get("added_tokens", [])}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.id_to_token.update({i: t for t, i in self.special.items()})
        self.byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
        alternatives = sorted(self.special, key=len, reverse=True)
        self._special_split = re.compile("(" + "|".join(re.escape(t) for t in alternatives) + ")") if alternatives else None
        self._cache: Dict[str, List[int]] = {}

    @classmethod
    def from_file(cls, path: str) -> "Tokenizer":
        with open(path, "r", encoding="utf-8") as fh:
            return cls(json.load(fh))

    def __len__(self) -> int:
        return max(self.id_to_token) + 1

    def token_to_id(self, token: str) -> int:
        if token in self.special:
            return self.special[token]
        return self.vocab[token]

    def _bpe(self, word: str) -> List[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = list(word)
        while len(symbols) > 1:
            # Merge every occurrence of the lowest-ranked adjacent pair, as the HF BPE model does.
            best = min(zip(symbols, symbols[1:]), key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        ids = [self.vocab[s] for s in symbols]
        self._cache[word] = ids
        return ids

    def encode(self, text: str) -> List[int]:
        import unicodedata
        ids: List[int] = []
        pieces = self._special_split.split(text) if self._special_split else [text]
        for piece in pieces:
            if not piece:
                continue
            if piece in self.special:
                ids.append(self.special[piece])
                continue
            for word in _words(unicodedata.normalize("NFC", piece)):
                ids.extend(self._bpe(word))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        out: List[str] = []
        buf = bytearray()
        for i in ids:
            tok = self.id_to_token[int(i)]
            if tok in self.special:
                out.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
                out.append(tok)
            else:
                buf.extend(self.byte_decoder[c] for c in tok)
        out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)


def special_token_ids(tok: Tokenizer) -> Dict[str, int]:
    return {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}
