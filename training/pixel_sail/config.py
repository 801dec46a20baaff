"""Model configuration: sizes, special tokens and image rules of a Pixel-SAIL model.

One dataclass is the single source of truth for the Python model, the ONNX export and the
TypeScript engine (it is written to ``config.json`` of every model directory).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

# Special tokens in the order the reference adds them on top of the base vocabulary.
BASE_SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>",
    "<vision>", "<vpatch>", "<vrow_sep>", "<vframe_sep>", "</vision>", "<|vis_cls|>",
]
NUM_PROMPT_SLOTS = 15
PIXEL_SAIL_TOKENS = ["[SEG]", "<p>", "</p>"] + [f"<Prompt{k}>" for k in range(NUM_PROMPT_SLOTS)] + ["<NO_Prompt>"]
SPECIAL_TOKENS = BASE_SPECIAL_TOKENS + PIXEL_SAIL_TOKENS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The chat layout of the reference: no system prompt, no assistant header, answers end with <|endoftext|>.
CHAT_LAYOUT = {
    "user_prefix": "<|im_start|>user\n",
    "user_suffix": "<|im_end|>\n",
    "answer_suffix": "<|endoftext|>",
    "stop_tokens": ["<|endoftext|>", "<|im_end|>"],
}


# Shapes of the paper's models (public Qwen2.5 configs; the vocabulary size comes from the checkpoint).
PRESETS = {
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, rope_theta=1000000.0, tie_word_embeddings=True, max_long_side=1024,
                 seg_hidden_states=512),
    "3b": dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
               num_key_value_heads=2, rope_theta=1000000.0, tie_word_embeddings=True, max_long_side=1024,
               seg_hidden_states=512),
}


@dataclass
class PixelSailConfig:
    vocab_size: int = 2048
    hidden_size: int = 128
    intermediate_size: int = 344
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1000000.0
    tie_word_embeddings: bool = False
    patch_size: int = 16
    max_long_side: int = 1024
    # Width C of the learnable upsampler. The reference uses min(H, 1024); a smaller C (with the
    # pre-projector mapping H -> C) keeps the stride-2 upsampler affordable on a CPU.
    upsampler_channels: Optional[int] = None
    num_upsample_blocks: int = 3
    # "learned": the paper's upsampler; "bilinear": the ablation baseline (patch features upsampled bilinearly).
    upsampler: str = "learned"
    # False only in the ablation without visual-prompt injection: prompts then leave the patches untouched.
    prompt_injection: bool = True
    # Where prompt masks overlap, which one a patch gets: "largest_first" writes them by area, largest first,
    # so the smallest wins (as training listed them); "given_order" writes them as given, later wins (the
    # official predict_forward; choose it for parity with the official code). Goes to config.json's image section.
    prompt_overlap: str = "largest_first"
    seg_hidden_states: int = 512
    num_prompt_slots: int = NUM_PROMPT_SLOTS
    token_ids: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size must be divisible by num_attention_heads")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be divisible by num_key_value_heads")
        if self.head_dim % 4:
            raise ValueError("head_dim must be divisible by 4 (two rotary sections of head_dim/4)")
        if self.upsampler_channels is None:
            self.upsampler_channels = min(self.hidden_size, 1024)
        if self.upsampler not in ("learned", "bilinear"):
            raise ValueError("upsampler must be 'learned' or 'bilinear'")
        if self.prompt_overlap not in ("largest_first", "given_order"):
            raise ValueError("prompt_overlap must be 'largest_first' or 'given_order'")
        if self.max_long_side % self.patch_size:
            raise ValueError("max_long_side must be a multiple of patch_size")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def mrope_section(self) -> List[int]:
        """Rotary sections (t, h, w) in frequency pairs: the temporal axis has zero width."""
        return [0, self.head_dim // 4, self.head_dim // 4]

    @property
    def has_pre_projector(self) -> bool:
        return self.upsampler_channels != self.hidden_size

    @property
    def upsample_factor(self) -> int:
        return 2 ** self.num_upsample_blocks

    def token_id(self, token: str) -> int:
        try:
            return self.token_ids[token]
        except KeyError as exc:
            raise KeyError(f"special token {token!r} missing from config.token_ids") from exc

    @property
    def prompt_token_ids(self) -> List[int]:
        return [self.token_id(f"<Prompt{k}>") for k in range(self.num_prompt_slots)]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PixelSailConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def preset(cls, name: str, **overrides) -> "PixelSailConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def from_json(cls, path: str) -> "PixelSailConfig":
        with open(path, "r", encoding="utf-8") as fh:
            data = json.load(fh)
        model = dict(data.get("model", data))
        # config.json's image section is what the engine reads; the reference follows the same setting.
        overlap = (data.get("image") or {}).get("prompt_overlap")
        if overlap is not None:
            model["prompt_overlap"] = overlap
        return cls.from_dict(model)
