"""The Pixel-SAIL single transformer, its learnable upsampler and its mask head.

Reading order follows the paper (arXiv 2504.10465) and the official single-transformer code:
  RMSNorm, multimodal rotary embedding, attention, MLP, decoder layer   (Qwen2 stack)
  SingleTransformer: token + raw-patch + visual-prompt embedding, the stack, final norm, LM head
  UpsampleBlock / PixelSail: learnable upsampler, [SEG] projector, mask logits

Parameter names mirror the official checkpoint layout (``single_transformer.model.layers.0...``,
``upsample_blocks.0.0`` ...) so ``convert_official.py`` is an explicit, short name map.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import PixelSailConfig

KV = Tuple[torch.Tensor, torch.Tensor]
NEG_INF = float("-inf")


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class MultimodalRotaryEmbedding(nn.Module):
    """3-axis rotary embedding (t, h, w) with sections [0, head_dim/4, head_dim/4].

    Frequency pair j rotates by the position on the axis that owns it. With the zero-width temporal
    section the first head_dim/4 pairs follow the row and the next head_dim/4 the column; for text
    all three axes are equal and this is ordinary 1-D RoPE. The axis choice is a fixed one-hot
    selector rather than zero-width splits, which exports cleanly and is numerically exact.
    """

    def __init__(self, config: PixelSailConfig) -> None:
        super().__init__()
        dim = config.head_dim
        inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        owner = []
        for axis, width in enumerate(config.mrope_section):
            owner += [axis] * width
        selector = torch.zeros(3, dim // 2)
        selector[torch.tensor(owner), torch.arange(dim // 2)] = 1.0
        self.register_buffer("axis_selector", selector, persistent=False)

    def forward(self, position_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # position_ids: [3, B, L] -> cos, sin: [B, L, head_dim]
        freqs = position_ids.float().unsqueeze(-1) * self.inv_freq  # [3, B, L, D/2]
        freqs = (freqs * self.axis_selector[:, None, None, :]).sum(0)  # [B, L, D/2]
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x: [B, heads, L, D]; cos/sin: [B, L, D]
    return x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1)


class Attention(nn.Module):
    def __init__(self, config: PixelSailConfig) -> None:
        super().__init__()
        h, d = config.hidden_size, config.head_dim
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = d
        self.q_proj = nn.Linear(h, self.num_heads * d, bias=True)
        self.k_proj = nn.Linear(h, self.num_kv_heads * d, bias=True)
        self.v_proj = nn.Linear(h, self.num_kv_heads * d, bias=True)
        self.o_proj = nn.Linear(self.num_heads * d, h, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor,
                past: Optional[KV]) -> Tuple[torch.Tensor, KV]:
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        groups = self.num_heads // self.num_kv_heads
        if groups > 1:
            # expand + reshape rather than repeat_interleave: the latter exports with traced shapes.
            k = k.unsqueeze(2).expand(-1, -1, groups, -1, -1).flatten(1, 2)
            v = v.unsqueeze(2).expand(-1, -1, groups, -1, -1).flatten(1, 2)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, self.num_heads * self.head_dim)
        return self.o_proj(out), present


class MLP(nn.Module):
    def __init__(self, config: PixelSailConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: PixelSailConfig) -> None:
        super().__init__()
        self.self_attn = Attention(config)
        self.mlp = MLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, x, cos, sin, mask, past: Optional[KV]) -> Tuple[torch.Tensor, KV]:
        attn, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + attn
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class TransformerBody(nn.Module):
    """Embeddings + decoder stack + final norm (``single_transformer.model`` in the official code)."""

    def __init__(self, config: PixelSailConfig) -> None:
        super().__init__()
        self.config = config
        p = config.patch_size
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.vis_embed = nn.Linear(3 * p * p, config.hidden_size, bias=False)
        self.vp_embed = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = MultimodalRotaryEmbedding(config)
        self.register_buffer("prompt_token_ids", torch.tensor(config.prompt_token_ids,
                                                             dtype=torch.long), persistent=False)

    def embed(self, input_ids: torch.Tensor, vision_patches: torch.Tensor, vision_patch_indices: torch.Tensor,
              vp_token_indices: torch.Tensor) -> torch.Tensor:
        """E[ids] + gather([W_vis·patches; 0], idx) + gather(W_vp·[E[<Prompt0..14>]; 0], vp_idx).

        input_ids, *_indices: [B, S]; vision_patches: [B, N, 3·p·p]. Index -1 (text) and -2 (patch
        without prompt) select the zero row.
        """
        x = self.embed_tokens(input_ids)
        b, n = vision_patches.shape[0], vision_patches.shape[1]
        patch_rows = self.vis_embed(vision_patches)  # [B, N, H]
        patch_table = torch.cat([patch_rows, patch_rows.new_zeros(b, 1, patch_rows.shape[-1])], dim=1)
        idx = torch.where(vision_patch_indices < 0, torch.full_like(vision_patch_indices, n), vision_patch_indices)
        x = x + torch.gather(patch_table, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        if not self.config.prompt_injection:
            return x
        slots = self.embed_tokens(self.prompt_token_ids)  # [15, H]
        vp_table = self.vp_embed(torch.cat([slots, slots.new_zeros(1, slots.shape[-1])], dim=0))  # [16, H]
        vidx = torch.where(vp_token_indices < 0, torch.full_like(vp_token_indices, slots.shape[0]), vp_token_indices)
        return x + vp_table[vidx]

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor,
                past_key_values: Optional[Sequence[KV]] = None) -> Tuple[torch.Tensor, List[KV]]:
        cos, sin = self.rotary_emb(position_ids)
        x = inputs_embeds
        presents: List[KV] = []
        for i, layer in enumerate(self.layers):
            x, present = layer(x, cos, sin, attention_mask, None if past_key_values is None else past_key_values[i])
            presents.append(present)
        return self.norm(x), presents


class SingleTransformer(nn.Module):
    """``single_transformer`` of the official wrapper: the body plus the LM head."""

    def __init__(self, config: PixelSailConfig) -> None:
        super().__init__()
        self.model = TransformerBody(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight


class DepthwisePointwise(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.pointwise = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels of an NCHW map, applied channels-last as the reference does."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def upsample_block(channels: int) -> nn.Sequential:
    """ConvTranspose 2×2 s2 → GELU → depthwise 3×3 + pointwise 1×1 → channel LayerNorm; no residual."""
    return nn.Sequential(
        nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2),
        nn.GELU(),
        DepthwisePointwise(channels),
        ChannelLayerNorm(channels),
    )


class PixelSail(nn.Module):
    def __init__(self, config: PixelSailConfig) -> None:
        super().__init__()
        self.config = config
        h, c, d = config.hidden_size, config.upsampler_channels, config.seg_hidden_states
        self.single_transformer = SingleTransformer(config)
        if config.has_pre_projector:
            self.image_feature_pre_projector = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, c), nn.Dropout(0.0))
        else:
            self.image_feature_pre_projector = None
        blocks = config.num_upsample_blocks if config.upsampler == "learned" else 0
        self.upsample_blocks = nn.ModuleList([upsample_block(c) for _ in range(blocks)])
        self.image_feature_projector = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, d), nn.Dropout(0.0))
        self.seg_token_projector = nn.Sequential(nn.Linear(h, c), nn.ReLU(), nn.Linear(c, d), nn.Dropout(0.0))

    # -- transformer -------------------------------------------------------------------------------
    def embed(self, *args) -> torch.Tensor:
        return self.single_transformer.model.embed(*args)

    def decode(self, inputs_embeds, attention_mask, position_ids, past_key_values=None):
        """Returns (post-norm last hidden [B,S,H], logits [B,S,V], presents)."""
        hidden, presents = self.single_transformer.model(inputs_embeds, attention_mask, position_ids, past_key_values)
        return hidden, self.single_transformer.lm_head(hidden), presents

    # -- pixel decoder -----------------------------------------------------------------------------
    def upsample(self, vision_hidden: torch.Tensor) -> torch.Tensor:
        """[B, gh, gw, H] post-norm patch features → [B, 8gh, 8gw, D] pixel features (stride 2)."""
        x = vision_hidden
        if self.image_feature_pre_projector is not None:
            x = self.image_feature_pre_projector(x)
        x = x.permute(0, 3, 1, 2)
        if self.config.upsampler == "bilinear":
            x = F.interpolate(x, scale_factor=float(self.config.upsample_factor), mode="bilinear", align_corners=False)
        for block in self.upsample_blocks:
            x = block(x)
        return self.image_feature_projector(x.permute(0, 2, 3, 1))

    def project_seg(self, seg_hidden: torch.Tensor) -> torch.Tensor:
        return self.seg_token_projector(seg_hidden)

    @staticmethod
    def mask_logits(seg_embeddings: torch.Tensor, pixel_features: torch.Tensor) -> torch.Tensor:
        """[Q, D] · [h, w, D] → [Q, h, w]: a plain dot product, no scale or bias (as the reference)."""
        return torch.einsum("qc,hwc->qhw", seg_embeddings, pixel_features)


# -- sequence helpers shared by training, export and the reference generation loop ----------------------

def image_block_length(gh: int, gw: int) -> int:
    return gh * gw + 2


def position_ids_for(seq_len: int, gh: int, gw: int, has_image: bool = True, start: int = 0) -> torch.Tensor:
    """[3, 1, L] rotary positions of the reference for an image block followed by text.

    <vision> → (0,0,0); patch (r, c) → (1, 1+r, 1+c); token i ≥ 1+N → i − N + max(gh, gw) on all axes.
    Without an image: 0..L−1 on all axes. ``start`` offsets the sequence index (decode steps).
    """
    idx = torch.arange(start, start + seq_len)
    if not has_image:
        return idx.view(1, 1, -1).expand(3, 1, -1).clone()
    n = gh * gw
    pos = (idx - n + max(gh, gw)).view(1, -1).repeat(3, 1)
    pos[:, idx == 0] = 0
    is_patch = (idx >= 1) & (idx <= n)
    p = idx[is_patch] - 1
    pos[0, is_patch] = 1
    pos[1, is_patch] = 1 + torch.div(p, gw, rounding_mode="floor")
    pos[2, is_patch] = 1 + p % gw
    return pos.view(3, 1, -1)


def attention_mask_for(query_len: int, past_len: int, bidirectional_block: int = 0,
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Additive mask [1, 1, S, P+S]: causal, plus full attention inside the first ``bidirectional_block``
    positions (the ``<vision> … </vision>`` block)."""
    total = past_len + query_len
    q = torch.arange(past_len, total).view(-1, 1)
    k = torch.arange(total).view(1, -1)
    allowed = (k <= q) | ((q < bidirectional_block) & (k < bidirectional_block))
    mask = torch.zeros(query_len, total, dtype=dtype)
    mask.masked_fill_(~allowed, NEG_INF)
    return mask.view(1, 1, query_len, total)
