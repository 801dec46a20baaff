"""A byte-level BPE tokenizer in Hugging Face ``tokenizer.json`` format, with the reference's special tokens.

The engine loads ``tokenizer.json`` with a maintained library (@huggingface/tokenizers). Python has no
such library on Debian, so this module holds the training-side counterpart: it learns the merges from
the generator's text, writes ``tokenizer.json`` and encodes text the way the library does, following the
file's own normalizer and pre-tokenizer (so a real Qwen2 tokenizer.json splits digits one by one and
keeps non-ASCII letters together, as Qwen2's rule says). Tests compare both token for token.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

import regex  # Debian's python3-regex: \p{L}/\p{N} classes and scoped flags, as tokenizer.json patterns use

from .config import SPECIAL_TOKENS

# GPT-2 style pre-tokenisation restricted to what both Python ``re`` and JavaScript regexes read
# identically: letters and digits are ASCII classes; everything else is byte-level encoded anyway.
# The project's own tokenizers are trained and written with it; any other tokenizer.json brings its own.
PRETOKENIZE_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+"
_PRETOKENIZE = re.compile(PRETOKENIZE_PATTERN)

# Qwen2's Split pattern (Qwen2.5's tokenizer.json) and the ByteLevel pre-tokenizer's own (use_regex: true).
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
                 r"|\s+(?!\S)|\s+")
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"

# \s as JavaScript reads it. The engine's library translates tokenizer.json Split patterns to Oniguruma's
# meaning (\s = White_Space, which is what Python's regex module reads too), but runs the ByteLevel
# pre-tokenizer's own pattern as a JavaScript literal, where \s also takes U+FEFF and leaves out U+0085.
# That pattern is rewritten to this class so both sides split identically.
_JS_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


class TokenizerFormatError(ValueError):
    """A tokenizer.json this reference cannot follow exactly (it says which part)."""


def js_compatible_pattern(pattern: str) -> str:
    """Rewrites \\s and \\S in a regex to the JavaScript meaning of whitespace."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append(_JS_SPACE if in_class else f"[{_JS_SPACE}]")
            elif nxt == "S":
                if in_class:
                    raise TokenizerFormatError(f"pre-tokenizer pattern uses \\S inside a character class: {pattern!r}")
                out.append(f"[^{_JS_SPACE}]")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


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


def _words(text: str, pattern: str = PRETOKENIZE_PATTERN) -> List[str]:
    table = bytes_to_unicode()
    compiled = _PRETOKENIZE if pattern == PRETOKENIZE_PATTERN else regex.compile(pattern)
    return ["".join(table[b] for b in piece.encode("utf-8")) for piece in compiled.findall(text)]


def train_bpe(corpus: Iterable[str], vocab_size: int,
              pattern: str = PRETOKENIZE_PATTERN) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Learn merges until the base vocabulary (256 bytes + merges) has ``vocab_size - len(SPECIAL_TOKENS)`` entries.

    ``pattern`` is the pre-tokenizer split the merges are learnt within (and that :func:`tokenizer_json` must
    then be given too): the project's ASCII rule by default, :data:`QWEN2_PATTERN` for a Qwen2-style tokenizer."""
    target = vocab_size - len(SPECIAL_TOKENS)
    if target < 256:
        raise ValueError(f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)}")
    counts = Counter(w for text in corpus for w in _words(text, pattern))
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


def tokenizer_json(vocab: Sequence[str], merges: Sequence[Tuple[str, str]], pattern: str = PRETOKENIZE_PATTERN,
                   special_tokens: Sequence[str] = SPECIAL_TOKENS) -> dict:
    """The Hugging Face tokenizer.json (Qwen2-like layout: Split + ByteLevel, BPE, ByteLevel decoder); added
    tokens get the ids after the vocabulary, in the order of ``special_tokens``."""
    vocab_ids = {tok: i for i, tok in enumerate(vocab)}
    added = [{"id": len(vocab) + i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, tok in enumerate(special_tokens)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
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


_UNICODE_FORMS = ("NFC", "NFD", "NFKC", "NFKD")


def _normalizer(spec) -> Callable[[str], str]:
    if spec is None:
        return lambda t: t
    kind = spec.get("type")
    if kind in _UNICODE_FORMS:
        return lambda t: unicodedata.normalize(kind, t)
    if kind == "Sequence":
        steps = [_normalizer(s) for s in spec.get("normalizers", [])]

        def run(t: str) -> str:
            for step in steps:
                t = step(t)
            return t
        return run
    raise TokenizerFormatError(f"tokenizer.json normalizer {kind!r} is not supported by the Python reference")


def _byte_encode(piece: str) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in piece.encode("utf-8"))


def _split_isolated(text: str, pattern) -> List[str]:
    """Matches and the text between them, in order, empty pieces dropped (the 'Isolated' behaviour)."""
    out, prev = [], 0
    for m in pattern.finditer(text):
        if m.start() > prev:
            out.append(text[prev:m.start()])
        if m.end() > m.start():
            out.append(m.group(0))
        prev = m.end()
    if prev < len(text):
        out.append(text[prev:])
    return out


def _pre_tokenizer(spec) -> Callable[[str], List[str]]:
    """One tokenizer.json pre-tokenizer as a function text → pieces (byte-level ones return encoded pieces).

    Supported: Split (Regex or String; Isolated or Removed; invert), ByteLevel (add_prefix_space, use_regex)
    and Sequence of these: what Qwen2 and GPT-2 style tokenizers use. Anything else is refused rather than
    approximated, since a wrong split silently changes token ids.
    """
    if spec is None:
        return lambda t: [t]
    kind = spec.get("type")
    if kind == "Sequence":
        steps = [_pre_tokenizer(s) for s in spec.get("pretokenizers", [])]

        def run(t: str) -> List[str]:
            pieces = [t]
            for step in steps:
                pieces = [q for p in pieces for q in step(p)]
            return pieces
        return run
    if kind == "Split":
        pat = spec.get("pattern", {})
        if "Regex" in pat:
            compiled = regex.compile(pat["Regex"])
        elif "String" in pat:
            compiled = regex.compile(regex.escape(pat["String"]))
        else:
            raise TokenizerFormatError(f"tokenizer.json Split pattern {pat!r} has neither Regex nor String")
        behavior = str(spec.get("behavior", "Isolated")).lower()
        if spec.get("invert", False):
            return lambda t: [m.group(0) for m in compiled.finditer(t) if m.group(0)]
        if behavior == "removed":
            return lambda t: [p for p in compiled.split(t) if p]
        if behavior == "isolated":
            return lambda t: _split_isolated(t, compiled)
        raise TokenizerFormatError(f"tokenizer.json Split behavior {spec.get('behavior')!r} is not supported by the Python reference")
    if kind == "ByteLevel":
        prefix = bool(spec.get("add_prefix_space", False))
        words = regex.compile(js_compatible_pattern(GPT2_PATTERN)) if spec.get("use_regex", True) else None

        def run(t: str) -> List[str]:
            if prefix and not t.startswith(" "):
                t = " " + t
            pieces = [m.group(0) for m in words.finditer(t)] if words is not None else [t]
            return [_byte_encode(p) for p in pieces if p]
        return run
    raise TokenizerFormatError(f"tokenizer.json pre-tokenizer {kind!r} is not supported by the Python reference")


def _has_byte_level(spec) -> bool:
    if spec is None:
        return False
    if spec.get("type") == "ByteLevel":
        return True
    return any(_has_byte_level(s) for s in spec.get("pretokenizers", []))


class Tokenizer:
    """Encodes and decodes with a byte-level BPE tokenizer.json: the project's own (:func:`tokenizer_json`) or a
    Qwen2 one, following its normalizer and pre-tokenizer (same results as the engine's JS library)."""

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
        self._normalize = _normalizer(data.get("normalizer"))
        pre = data.get("pre_tokenizer")
        if not _has_byte_level(pre):
            raise TokenizerFormatError("only byte-level BPE tokenizer.json files are supported (no ByteLevel pre-tokenizer)")
        self._pretokenize = _pre_tokenizer(pre)

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
        ids: List[int] = []
        pieces = self._special_split.split(text) if self._special_split else [text]
        for piece in pieces:
            if not piece:
                continue
            if piece in self.special:
                ids.append(self.special[piece])
                continue
            for word in self._pretokenize(self._normalize(piece)):
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
