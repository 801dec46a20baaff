"""A model directory written from checkpoint weights read one tensor at a time (issue 20: the 3B shapes).

The in-memory export builds the whole PixelSail in float32 (12.3 GB at 3B, on top of the 6.2 GB checkpoint)
and then copies every weight again into each ONNX graph. None of that is needed for the graphs themselves:

* the decoders (float32 and int8) are written node by node by ``onnx_decoder.build_decoder_from``, which asks
  for each weight when its node is written; ``exporting.ExternalDataWriter`` puts its bytes into
  ``decoder*.onnx.data`` at once, so a decoder costs its largest weight (the LM head), not the model;
* the embed, upsampler and mask-head graphs are traced from a PixelSail without decoder layers and without an
  LM head (they use neither), loaded with their own weights only.

The files are the same as the in-memory export's, byte for byte (training/tests/test_streaming_convert.py):
same graphs, same external-data file names, order and offsets, the int8 decoder quantised by the same code.
Parity fixtures run the PyTorch reference and so need the whole model; that path stays the in-memory one.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, Mapping, Tuple

import numpy as np

from .official_checkpoint import ConversionError

ST = "single_transformer."


class WeightSource:
    """Named weights (torch tensors or lazy_checkpoint.LazyTensor records), handed out one at a time in
    float32; nothing is cached, so each weight lives only as long as its caller keeps it."""

    def __init__(self, state: Mapping) -> None:
        self.state = state

    def tensor(self, name: str):
        v = self.state[name]
        t = v.load() if hasattr(v, "load") else v
        return t.float() if t.is_floating_point() else t

    def f32(self, name: str) -> np.ndarray:
        return self.tensor(name).detach().cpu().float().numpy()

    def shape(self, name: str) -> Tuple[int, ...]:
        return tuple(int(s) for s in self.state[name].shape)


def _pixel_model(cfg):
    """PixelSail without decoder layers or LM head: what the embed, upsampler and mask-head graphs use."""
    import torch
    from pixel_sail.model import PixelSail

    # Tied, so no LM head matrix is allocated; then dropped, so no graph can name its weight.
    model = PixelSail(dataclasses.replace(cfg, num_hidden_layers=0, tie_word_embeddings=True))
    model.single_transformer.lm_head = torch.nn.Identity()
    model.config = cfg
    model.single_transformer.model.config = cfg
    return model.eval()


def expected_shapes(cfg, pixel_model=None) -> Dict[str, Tuple[int, ...]]:
    """Every parameter the architecture takes, with its shape (what load_state_dict would require)."""
    from pixel_sail.model import DecoderLayer

    model = pixel_model if pixel_model is not None else _pixel_model(cfg)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    layer = {k: tuple(v.shape) for k, v in DecoderLayer(cfg).state_dict().items()}
    for i in range(cfg.num_hidden_layers):
        for k, shape in layer.items():
            shapes[f"{ST}model.layers.{i}.{k}"] = shape
    if not cfg.tie_word_embeddings:
        shapes[f"{ST}lm_head.weight"] = (cfg.vocab_size, cfg.hidden_size)
    return shapes


def check_fits(cfg, source: WeightSource, pixel_model=None) -> int:
    """ConversionError unless the weights are exactly the architecture's (names and shapes); returns the
    number of parameters."""
    want = expected_shapes(cfg, pixel_model)
    missing = [k for k in want if k not in source.state]
    unexpected = [k for k in source.state if k not in want]
    if missing or unexpected:
        raise ConversionError(f"checkpoint does not fit the architecture: missing {missing[:4]}, unexpected {unexpected[:4]}")
    wrong = [f"{k}: {source.shape(k)} instead of {want[k]}" for k in want if source.shape(k) != want[k]]
    if wrong:
        raise ConversionError(f"checkpoint does not fit the architecture: {'; '.join(wrong[:4])}")
    # A tied head is the embedding and is not in ``want``: counted once, as model.parameters() counts it.
    return sum(int(np.prod(s)) for s in want.values())


def export_graphs_streaming(cfg, source: WeightSource, out_dir: str, int8: bool = False, attention: str = "matmul",
                            int8_form: str = "projections", logits_rows: int = 1, mlp_chunk_rows: int = 0) -> None:
    import torch
    from pixel_sail import exporting
    from pixel_sail.onnx_decoder import build_decoder_from

    pixel = _pixel_model(cfg)
    with torch.no_grad():
        for name, t in pixel.state_dict(keep_vars=True).items():
            t.copy_(source.tensor(name))
    exporting._export_embed(pixel, out_dir)
    exporting._export_pixel_graphs(pixel, out_dir)
    del pixel

    io = exporting.graph_io(cfg)["decoder"]
    st_names = [k[len(ST):] for k in source.state if k.startswith(ST)]
    for weights, file in (("float32", "decoder.onnx"), ("int8", exporting.INT8_DECODER)):
        if weights == "int8" and not int8:
            continue
        sink = exporting.ExternalDataWriter(os.path.join(out_dir, file))
        try:
            proto = build_decoder_from(cfg, lambda name: source.f32(ST + name), st_names, io["inputs"], io["outputs"],
                                       weights, sink=sink, attention=attention, int8_form=int8_form, logits_rows=logits_rows,
                                       mlp_chunk_rows=mlp_chunk_rows)
        except BaseException:
            sink.abandon()
            raise
        sink.finish(proto)
        del proto


def export_model_dir_streaming(cfg, source: WeightSource, tok_doc: dict, out: str, name: str, extra: dict = None,
                               int8: bool = False, attention: str = "matmul", int8_form: str = "projections",
                               logits_rows: int = 1, mlp_chunk_rows: int = 0) -> None:
    """The model directory export_model_dir writes (without parity fixtures), atomically, from ``source``."""
    from pixel_sail import exporting
    from pixel_sail.atomic_dir import atomic_directory

    parent = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(parent, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise exporting.UsageError(f"output directory {parent} is not writable")
    with atomic_directory(out, keep=("MODEL_CARD.md",)) as tmp:
        export_graphs_streaming(cfg, source, tmp, int8, attention, int8_form, logits_rows, mlp_chunk_rows)
        exporting._write_tokenizer_files(tmp, tok_doc)
        with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as fh:
            json.dump(exporting.config_document(cfg, name, extra, int8, attention, logits_rows), fh, indent=2)
