"""Reference inference: the image block is prefilled once (bidirectional) and cached with its upsampled
pixel features; questions are answered by greedy decoding on top of that cache.

The TypeScript engine follows the same flow on the ONNX graphs; this module is what the parity fixtures
and the PyTorch side of the benchmark run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import CHAT_LAYOUT
from .model import PixelSail, attention_mask_for, image_block_length, position_ids_for
from .preprocess import image_to_patches, prompt_slots, resized_size, sequence_indices
from .tokenizer import Tokenizer


@dataclass
class ImageState:
    gh: int
    gw: int
    height: int
    width: int
    past: list
    pixel_features: torch.Tensor  # [8gh, 8gw, D]
    vision_hidden: torch.Tensor   # [gh, gw, H]
    seq_len: int                  # tokens in the cache
    next_position: int


@dataclass
class Answer:
    token_ids: List[int]
    text: str
    seg_hidden: torch.Tensor      # [Q, H]
    mask_logits: torch.Tensor     # [Q, 8gh, 8gw]
    masks: np.ndarray = field(default=None)  # [Q, H0, W0] bool


class Predictor:
    def __init__(self, model: PixelSail, tokenizer: Tokenizer) -> None:
        self.model = model.eval()
        self.tok = tokenizer
        cfg = model.config
        self.cfg = cfg
        self.seg_id = cfg.token_id("[SEG]")
        self.stop_ids = {cfg.token_id(t) for t in CHAT_LAYOUT["stop_tokens"]}

    @torch.no_grad()
    def set_image(self, rgb: np.ndarray, prompt_masks: Sequence[np.ndarray] = (), slots: Sequence[int] = ()) -> ImageState:
        cfg = self.cfg
        patches, gh, gw = image_to_patches(rgb, cfg.patch_size, cfg.max_long_side)
        n = gh * gw
        slot_ids = None
        if prompt_masks:
            new_w, new_h = resized_size(rgb.shape[1], rgb.shape[0], cfg.patch_size, cfg.max_long_side)
            slot_ids = prompt_slots(prompt_masks, slots, new_w, new_h, cfg.patch_size, cfg.prompt_overlap)
        ids = [cfg.token_id("<vision>")] + [cfg.token_id("<vpatch>")] * n + [cfg.token_id("</vision>")]
        vpi, vti = sequence_indices(0, gh, gw, slot_ids)
        block = image_block_length(gh, gw)
        embeds = self.model.embed(torch.tensor([ids]), torch.from_numpy(patches)[None],
                                  torch.tensor([vpi]), torch.tensor([vti]))
        hidden, _, past = self.model.decode(embeds, attention_mask_for(block, 0, block), position_ids_for(block, gh, gw))
        vision_hidden = hidden[0, 1:n + 1].reshape(gh, gw, -1)
        pixel = self.model.upsample(vision_hidden[None])[0]
        return ImageState(gh, gw, rgb.shape[0], rgb.shape[1], past, pixel, vision_hidden, block, block)

    @torch.no_grad()
    def _step(self, state: ImageState, ids: List[int]):
        s = len(ids)
        embeds = self.model.embed(torch.tensor([ids]), torch.zeros(1, 0, 3 * self.cfg.patch_size ** 2),
                                  torch.full((1, s), -1), torch.full((1, s), -1))
        pos = position_ids_for(s, state.gh, state.gw, start=state.seq_len)
        hidden, logits, past = self.model.decode(embeds, attention_mask_for(s, state.seq_len), pos, state.past)
        state.past, state.seq_len = past, state.seq_len + s
        return hidden[0], logits[0]

    def prompt_ids(self, text: str) -> List[int]:
        return self.tok.encode(CHAT_LAYOUT["user_prefix"] + text + CHAT_LAYOUT["user_suffix"])

    @torch.no_grad()
    def generate(self, state: ImageState, text: str, max_new_tokens: int = 64, answer_prefix: str = "") -> Answer:
        """Greedy answer to one user turn; [SEG] hidden states are taken where [SEG] is the input token."""
        ids = self.prompt_ids(text) + (self.tok.encode(answer_prefix) if answer_prefix else [])
        hidden, logits = self._step(state, ids)
        seg_rows = [hidden[i] for i, t in enumerate(ids) if t == self.seg_id]
        out: List[int] = []
        next_id = int(logits[-1].argmax())
        while len(out) < max_new_tokens and next_id not in self.stop_ids:
            out.append(next_id)
            hidden, logits = self._step(state, [next_id])
            if next_id == self.seg_id:
                seg_rows.append(hidden[0])
            next_id = int(logits[-1].argmax())
        seg_hidden = torch.stack(seg_rows) if seg_rows else torch.zeros(0, self.cfg.hidden_size)
        mask_logits = self.model.mask_logits(self.model.project_seg(seg_hidden), state.pixel_features)
        masks = masks_at_original_size(mask_logits, state.height, state.width)
        return Answer(out, self.tok.decode(out), seg_hidden, mask_logits, masks)


def masks_at_original_size(mask_logits: torch.Tensor, height: int, width: int) -> np.ndarray:
    """Bilinear (align_corners=False) straight to the original size, then logit > 0 (sigmoid > 0.5)."""
    if mask_logits.shape[0] == 0:
        return np.zeros((0, height, width), dtype=bool)
    up = F.interpolate(mask_logits[None].float(), size=(height, width), mode="bilinear", align_corners=False)[0]
    return (up > 0).numpy()
