"""COCO run-length encoding, byte-compatible with pycocotools' maskApi.c (Debian ships no pycocotools).

Runs are counted in column-major order starting with zeros; the compressed string stores each count
(as a delta to the count two places back, from the third on) in 5-bit groups, 6 bits a character,
offset by 48.
"""
from __future__ import annotations

from typing import List

import numpy as np


def encode_counts(mask: np.ndarray) -> List[int]:
    flat = np.asarray(mask, dtype=bool).flatten(order="F")
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def counts_to_string(counts: List[int]) -> str:
    out = []
    for i, c in enumerate(counts):
        x = int(c)
        if i > 2:
            x -= int(counts[i - 2])
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = (x != -1) if (ch & 0x10) else (x != 0)
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def string_to_counts(s: str) -> List[int]:
    counts: List[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            ch = ord(s[p]) - 48
            x |= (ch & 0x1F) << (5 * k)
            more = bool(ch & 0x20)
            p += 1
            if not more and (ch & 0x10):
                x |= -1 << (5 * (k + 1))
            k += 1
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def encode(mask: np.ndarray) -> dict:
    """Binary mask [h, w] → {"size": [h, w], "counts": str} (compressed RLE)."""
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": counts_to_string(encode_counts(mask))}


def decode(rle: dict) -> np.ndarray:
    h, w = rle["size"]
    counts = string_to_counts(rle["counts"]) if isinstance(rle["counts"], str) else list(rle["counts"])
    flat = np.zeros(h * w, dtype=bool)
    pos, value = 0, False
    for c in counts:
        if value:
            flat[pos:pos + c] = True
        pos += c
        value = not value
    return flat.reshape((w, h)).T


def area(rle: dict) -> int:
    counts = string_to_counts(rle["counts"]) if isinstance(rle["counts"], str) else rle["counts"]
    return int(sum(counts[1::2]))


def bbox(mask: np.ndarray) -> List[float]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
