"""The Python tokenizer follows tokenizer.json's own normalizer and pre-tokenizer (Qwen2's split rule: digits
one by one, non-ASCII letters kept together) and agrees token for token with the engine's library
(@huggingface/tokenizers, called through node)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO
from pixel_sail.config import SPECIAL_TOKENS
from pixel_sail.tokenizer import (QWEN2_PATTERN, Tokenizer, TokenizerFormatError, _pre_tokenizer, tokenizer_json,
                                  train_bpe)

TEXTS = [
    "Please segment the 2nd car from the left (id 40512) in this image.",
    "Prix: 1 234,56 € — café, naïve, Ærøskøbing; 東京タワーは333メートル。中文字符测试",
    "emoji 😀👍🏽 and flags 🇫🇷, math ∑x² ≤ ½, fullwidth １２３ and Arabic ٣٤٥",
    "DON'T we'll I'M they'RE it's\tTabs\t\tand\n\nnewlines\r\n  leading  and trailing   ",
    "<Prompt3>: a small [SEG] thing <p>phrase</p> [SEG].<|endoftext|>",
    "combining e\u0301 (NFC → é), no-break\u00a0space, ideographic\u3000space, nel\u0085x, bom\ufeffx",
    "   3.14159 — 007 — 1e-9 — 0x1F",
    # Whitespace by Unicode (U+0085) or by JavaScript's \\s only (U+FEFF); a long s that folds to s; Kelvin sign.
    "odd spaces:\u0085\u0085 and \ufeff\ufeff end \u0085 it'\u017f IT'S 300\u212a",
]

CORPUS = TEXTS + [
    "Please segment the red box in this image. It is [SEG].",
    "Can you provide me with a detailed description of the region in the picture marked by <Prompt0>?",
    "數字 12 和 34, the numbers 56 and 78; über straße façade résumé 😀😀 中文中文 東京",
] * 3


@pytest.fixture(scope="module")
def qwen2_style_doc():
    vocab, merges = train_bpe(CORPUS, 700, pattern=QWEN2_PATTERN)
    return tokenizer_json(vocab, merges, pattern=QWEN2_PATTERN)


def test_qwen2_rule_splits_digits_one_by_one_and_keeps_non_ascii_words(qwen2_style_doc):
    split = _pre_tokenizer({"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False})
    assert split("id 40512!") == ["id", " ", "4", "0", "5", "1", "2", "!"]
    assert split(" café 中文😀 DON'T") == [" café", " 中文", "😀", " DON", "'T"]
    assert split("a\n\nb") == ["a", "\n\n", "b"]
    tok = Tokenizer(qwen2_style_doc)
    ids = tok.encode("abc 40512")
    digits = [tok.decode([i]) for i in ids[-5:]]
    assert digits == ["4", "0", "5", "1", "2"]


def test_decode_inverts_encode_on_non_ascii(qwen2_style_doc):
    tok = Tokenizer(qwen2_style_doc)
    for text in TEXTS[:3]:
        assert tok.decode(tok.encode(text)) == text


def test_unsupported_pre_tokenizers_are_refused_clearly(qwen2_style_doc):
    doc = json.loads(json.dumps(qwen2_style_doc))
    doc["pre_tokenizer"]["pretokenizers"][0] = {"type": "Metaspace", "replacement": "▁"}
    with pytest.raises(TokenizerFormatError, match="Metaspace"):
        Tokenizer(doc)
    doc = json.loads(json.dumps(qwen2_style_doc))
    doc["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "MergedWithNext"
    with pytest.raises(TokenizerFormatError, match="MergedWithNext"):
        Tokenizer(doc)


def engine_ids(doc: dict, texts):
    """Token ids from @huggingface/tokenizers, called as src/engine/tokenizer.ts calls it."""
    script = ("const { Tokenizer } = require('@huggingface/tokenizers');"
              "const { doc, texts } = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const tok = new Tokenizer(doc, {});"
              "console.log(JSON.stringify(texts.map((t) => tok.encode(t, { add_special_tokens: false }).ids)));")
    r = subprocess.run(["node", "-e", script], cwd=REPO, input=json.dumps({"doc": doc, "texts": texts}),
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


needs_node = pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(REPO, "node_modules", "@huggingface")),
                                reason="run `npm ci` first (npm test does)")


@needs_node
def test_same_ids_as_the_engine_on_a_qwen2_style_tokenizer(qwen2_style_doc):
    tok = Tokenizer(qwen2_style_doc)
    want = engine_ids(qwen2_style_doc, TEXTS)
    for text, ids in zip(TEXTS, want):
        assert tok.encode(text) == ids, text


@needs_node
def test_same_ids_as_the_engine_on_the_shipped_tokenizer():
    with open(os.path.join(REPO, "models", "default", "tokenizer.json"), encoding="utf-8") as fh:
        doc = json.load(fh)
    tok = Tokenizer(doc)
    for text, ids in zip(TEXTS, engine_ids(doc, TEXTS)):
        assert tok.encode(text) == ids, text


def test_special_tokens_come_after_the_vocabulary_in_the_official_order(qwen2_style_doc):
    added = qwen2_style_doc["added_tokens"]
    assert [t["content"] for t in added] == SPECIAL_TOKENS
    assert [t["id"] for t in added] == list(range(len(qwen2_style_doc["model"]["vocab"]), len(qwen2_style_doc["model"]["vocab"]) + len(added)))


@needs_node
def test_byte_level_regex_splits_as_the_engines_javascript_literal():
    # The library runs ByteLevel's own pattern as a JS literal (\s there takes U+FEFF, not U+0085); Split
    # patterns it translates to Unicode White_Space, as Python's regex reads them (the tests above).
    texts = [t for t in TEXTS] + ["a:\u0085\u0085 b\ufeff\ufeff c \u0085\n"]
    script = ("const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const re = /'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+/gu;"
              "console.log(JSON.stringify(texts.map((t) => t.match(re) || [])));")
    r = subprocess.run(["node", "-e", script], input=json.dumps(texts), capture_output=True, text=True, check=True)
    from pixel_sail.tokenizer import _byte_encode
    split = _pre_tokenizer({"type": "ByteLevel", "add_prefix_space": False, "use_regex": True})
    for text, pieces in zip(texts, json.loads(r.stdout)):
        assert split(text) == [_byte_encode(p) for p in pieces], text


@needs_node
def test_same_ids_as_the_engine_on_a_gpt2_style_tokenizer():
    from pixel_sail.tokenizer import GPT2_PATTERN
    vocab, merges = train_bpe(CORPUS, 700, pattern=GPT2_PATTERN)
    doc = tokenizer_json(vocab, merges)
    doc["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}
    tok = Tokenizer(doc)
    for text, ids in zip(TEXTS, engine_ids(doc, TEXTS)):
        assert tok.encode(text) == ids, text
